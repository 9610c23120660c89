/** Fan-out's range planning: every recipient in exactly one range, ranges no larger than the batch, stable ids. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { planDeliveryRanges } from '../../src/delivery/fan-out-digest.js';

function bitmap(ids: Iterable<number>): Buffer {
  const list = [...ids];
  const buffer = Buffer.alloc(list.length === 0 ? 0 : (Math.max(...list) >> 3) + 1);
  for (const id of list) buffer[id >> 3] = (buffer[id >> 3] ?? 0) | (0x80 >> (id & 7));
  return buffer;
}

describe('planDeliveryRanges', () => {
  it('covers every recipient exactly once, in ranges of at most the batch size, counting the pending ones', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 5_000 }), { maxLength: 400 }),
        fc.integer({ min: 1, max: 60 }),
        fc.func(fc.constantFrom('pending', 'sent', 'failed', 'skipped')),
        (ids, batchSize, outcomeOf) => {
          const outcome = new Map(ids.map((id) => [id, outcomeOf(id)]));
          const pick = (kind: string) => ids.filter((id) => outcome.get(id) === kind);
          const ranges = planDeliveryRanges(
            {
              recipients: bitmap(ids),
              sent: bitmap(pick('sent')),
              failed: bitmap(pick('failed')),
              skipped: bitmap(pick('skipped')),
            },
            batchSize,
          );
          const sorted = [...ids].sort((a, b) => a - b);
          let index = 0;
          for (const range of ranges) {
            const members = sorted.slice(index, index + range.recipients);
            index += range.recipients;
            expect(range.recipients).toBeLessThanOrEqual(batchSize);
            expect(range.fromId).toBe(members[0]);
            expect(range.toId).toBe(members[members.length - 1]);
            expect(range.pending).toBe(members.filter((id) => outcome.get(id) === 'pending').length);
          }
          expect(index).toBe(ids.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('ignores bit 0, which only marks that the snapshot was taken', () => {
    expect(
      planDeliveryRanges(
        { recipients: bitmap([0]), sent: Buffer.alloc(0), failed: Buffer.alloc(0), skipped: Buffer.alloc(0) },
        10,
      ),
    ).toEqual([]);
  });
});
