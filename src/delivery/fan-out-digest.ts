/**
 * Fan-out: freeze who receives a digest (a copy of the newsletter's active bitmap), count them once, cut the
 * snapshot into id ranges of up to `batchSize` recipients and enqueue one delivery job per range that still has
 * someone pending. Every step is idempotent, so a fan-out that crashed half-way is simply run again.
 */
import type { Digest, DigestStatus } from '../digests/digest.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { DeliverJob } from '../queue/job-definitions.js';

/** The ledger operations fan-out needs. */
export interface FanOutLedger {
  snapshotRecipients(
    digestId: string,
    newsletterId: string,
    batchSize: number,
  ): Promise<{ recipients: number; batchSize: number }>;
  readBitmaps(digestId: string): Promise<{ recipients: Buffer; sent: Buffer; failed: Buffer; skipped: Buffer }>;
  markFannedOut(digestId: string, newsletterId: string, now: Date): Promise<DigestStatus | undefined>;
}

/** What fan-out needs. */
export interface FanOutDigestDeps {
  digests: { get(id: string): Promise<Digest | undefined> };
  ledger: FanOutLedger;
  /** Enqueues delivery jobs (deterministic ids); with `revive`, also wakes delayed ones and retries failed ones. */
  enqueueDeliveries(payloads: Omit<DeliverJob, 'deferrals'>[], options: { revive: boolean }): Promise<void>;
  /** Recipients per delivery job; the first fan-out of a digest records it, later runs reuse the recorded one. */
  batchSize: number;
  clock: () => Date;
  logger: Logger;
}

/** What fan-out did. */
export interface FanOutResult {
  status: DigestStatus | undefined;
  recipients: number;
  /** Ranges with someone still pending, each one delivery job. */
  ranges: number;
}

/** One delivery range: recipient ids `fromId..toId` (inclusive) and how many of them are still pending. */
export interface DeliveryRange {
  fromId: number;
  toId: number;
  recipients: number;
  pending: number;
}

/** Fans a digest out (see the module comment). A cancelled or finished digest fans out to nobody. */
export async function fanOutDigest(
  deps: FanOutDigestDeps,
  input: { digestId: string; resume?: number },
): Promise<FanOutResult> {
  const digest = await deps.digests.get(input.digestId);
  if (!digest) throw new AppError('digest_not_found', `no digest "${input.digestId}"`);
  const logger = deps.logger.child({ digestId: digest.id });
  if (digest.status === 'ready') {
    throw new AppError(
      'digest_state',
      `digest "${digest.id}" has not been sent: fan-out runs only after \`digest send\``,
    );
  }
  if (digest.status === 'cancelled' || digest.status === 'sent') {
    return { status: digest.status, recipients: digest.counts.recipients, ranges: 0 };
  }

  const { recipients, batchSize } = await deps.ledger.snapshotRecipients(
    digest.id,
    digest.newsletterId,
    deps.batchSize,
  );
  const bitmaps = await deps.ledger.readBitmaps(digest.id);
  const ranges = planDeliveryRanges(bitmaps, batchSize).filter((range) => range.pending > 0);
  await deps.enqueueDeliveries(
    ranges.map((range) => ({ digestId: digest.id, fromId: range.fromId, toId: range.toId })),
    { revive: input.resume !== undefined },
  );
  const status = await deps.ledger.markFannedOut(digest.id, digest.newsletterId, deps.clock());
  logger.info({ recipients, ranges: ranges.length, batchSize, resume: input.resume }, 'digest fanned out');
  return { status, recipients, ranges: ranges.length };
}

/**
 * Cuts the recipients snapshot into consecutive id ranges of up to `batchSize` recipients, and counts the pending
 * ones (no bit in sent, failed or skipped) of each. Pure and deterministic: the same snapshot and batch size give
 * the same ranges, hence the same job ids.
 */
export function planDeliveryRanges(
  bitmaps: { recipients: Buffer; sent: Buffer; failed: Buffer; skipped: Buffer },
  batchSize: number,
): DeliveryRange[] {
  const ranges: DeliveryRange[] = [];
  let current: DeliveryRange | undefined;
  const { recipients, sent, failed, skipped } = bitmaps;
  for (let byteIndex = 0; byteIndex < recipients.length; byteIndex += 1) {
    const byte = recipients[byteIndex] ?? 0;
    if (byte === 0) continue;
    const settled = (sent[byteIndex] ?? 0) | (failed[byteIndex] ?? 0) | (skipped[byteIndex] ?? 0);
    for (let bit = 0; bit < 8; bit += 1) {
      const mask = 0x80 >> bit;
      if ((byte & mask) === 0) continue;
      const id = byteIndex * 8 + bit;
      if (id === 0) continue; // bit 0 only materialises the snapshot; ids start at 1
      if (!current || current.recipients >= batchSize) {
        current = { fromId: id, toId: id, recipients: 0, pending: 0 };
        ranges.push(current);
      }
      current.toId = id;
      current.recipients += 1;
      if ((settled & mask) === 0) current.pending += 1;
    }
  }
  return ranges;
}
