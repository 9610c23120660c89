/** The scenario verdict catches each way a send can go wrong (so a green scenario means something). */
import { describe, expect, it } from 'vitest';
import type { Digest } from '../../src/digests/digest.js';
import { auditDelivery, type DeliveryFacts } from './audit-delivery.js';

const recipients = [1, 2, 3, 4].map((id) => ({ id, email: `r${id}@example.test` }));

function digest(counts: Digest['counts'], status: Digest['status'] = 'sent'): Digest {
  return {
    id: 'daily-test-0001',
    newsletterId: 'daily',
    status,
    subject: 's',
    articleIds: [],
    createdAt: new Date(0).toISOString(),
    counts,
  };
}

function facts(overrides: Partial<DeliveryFacts> = {}): DeliveryFacts {
  return {
    recipients,
    removed: new Set(['r4@example.test']),
    permanentlyRefused: new Set(['r3@example.test']),
    accepted: [
      { recipient: 'r1@example.test', messageId: '<1>', wasStalled: false, isReplyLost: false, acceptedAt: 1_000 },
      { recipient: 'r2@example.test', messageId: '<2>', wasStalled: false, isReplyLost: false, acceptedAt: 1_000 },
    ],
    digest: digest({ recipients: 4, delivered: 2, failed: 1, skipped: 1 }),
    ledger: { sent: new Set([1, 2]), failed: new Set([3]), skipped: new Set([4]) },
    suppressed: new Set(['r3@example.test']),
    ...overrides,
  };
}

describe('the delivery audit', () => {
  it('passes a send where everyone got one copy, the refusal failed and the removal was skipped', () => {
    expect(auditDelivery(facts())).toMatchObject({
      recipients: 4,
      delivered: 2,
      duplicates: 0,
      lost: 0,
      failed: 1,
      skipped: 1,
      problems: [],
    });
  });

  it('reports a reader who got nothing, and a digest marked sent anyway', () => {
    const audit = auditDelivery(
      facts({
        accepted: [
          { recipient: 'r1@example.test', messageId: '<1>', wasStalled: false, isReplyLost: false, acceptedAt: 1_000 },
        ],
      }),
    );
    expect(audit.lost).toBe(1);
    expect(audit.problems.join('\n')).toMatch(/1 deliverable recipient\(s\) got nothing/);
    expect(audit.problems.join('\n')).toMatch(/the digest counts 2 delivered; the relay reached 1/);
  });

  it('reports duplicates, and tells those after a stalled reply from the rest', () => {
    const stalled = auditDelivery(
      facts({
        accepted: [
          { recipient: 'r1@example.test', messageId: '<1>', wasStalled: true, isReplyLost: true, acceptedAt: 1_000 },
          { recipient: 'r1@example.test', messageId: '<1>', wasStalled: false, isReplyLost: false, acceptedAt: 1_000 },
          { recipient: 'r2@example.test', messageId: '<2>', wasStalled: false, isReplyLost: false, acceptedAt: 1_000 },
        ],
      }),
    );
    expect(stalled).toMatchObject({
      delivered: 1,
      reached: 2,
      duplicates: 1,
      duplicatesAfterLostReply: 1,
      problems: [],
    });
    const plain = auditDelivery(
      facts({
        accepted: [
          { recipient: 'r1@example.test', messageId: '<1>', wasStalled: false, isReplyLost: false, acceptedAt: 1_000 },
          { recipient: 'r1@example.test', messageId: '<1b>', wasStalled: false, isReplyLost: false, acceptedAt: 1_000 },
          { recipient: 'r2@example.test', messageId: '<2>', wasStalled: false, isReplyLost: false, acceptedAt: 1_000 },
        ],
      }),
    );
    expect(plain.problems.join('\n')).toMatch(/1 duplicate\(s\) not explained/);
    expect(plain.problems.join('\n')).toMatch(/different Message-IDs/);
  });

  it('counts a duplicate whose first copy was accepted right around a worker being killed apart from the rest', () => {
    const accepted = [
      { recipient: 'r1@example.test', messageId: '<1>', wasStalled: false, isReplyLost: false, acceptedAt: 1_000 },
      { recipient: 'r1@example.test', messageId: '<1>', wasStalled: false, isReplyLost: false, acceptedAt: 40_000 },
      { recipient: 'r2@example.test', messageId: '<2>', wasStalled: false, isReplyLost: false, acceptedAt: 1_000 },
    ];
    expect(auditDelivery(facts({ accepted, killedAt: [1_200] }))).toMatchObject({ duplicatesAtKill: 1, problems: [] });
    // Killed right after writing the whole message: the relay reads it and accepts a moment after the kill.
    expect(auditDelivery(facts({ accepted, killedAt: [800] }))).toMatchObject({ duplicatesAtKill: 1, problems: [] });
    expect(auditDelivery(facts({ accepted, killedAt: [5_000] })).problems.join('\n')).toMatch(
      /1 duplicate\(s\) not explained/,
    );
  });

  it('reports a removed reader who still got it, and a refusal neither recorded nor suppressed', () => {
    const audit = auditDelivery(
      facts({
        accepted: [
          ...facts().accepted,
          { recipient: 'r4@example.test', messageId: '<4>', wasStalled: false, isReplyLost: false, acceptedAt: 1_000 },
        ],
        ledger: { sent: new Set([1, 2]), failed: new Set(), skipped: new Set([4]) },
        suppressed: new Set(),
      }),
    );
    expect(audit.problems.join('\n')).toMatch(/removed subscriber\(s\) still got the digest/);
    expect(audit.problems.join('\n')).toMatch(/not recorded as failed/);
    expect(audit.problems.join('\n')).toMatch(/not suppressed/);
  });

  it('reports a digest that is not settled', () => {
    const audit = auditDelivery(
      facts({ digest: digest({ recipients: 4, delivered: 2, failed: 1, skipped: 0 }, 'sending') }),
    );
    expect(audit.problems.join('\n')).toMatch(/"sending", not "sent"/);
    expect(audit.problems.join('\n')).toMatch(/!= recipients 4/);
  });
});
