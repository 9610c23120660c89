/** The delivery ledger on a real Redis: one outcome per reader, and "sent" only when nobody is pending. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { RedisDeliveryLedger } from '../../src/delivery/delivery-ledger.js';
import { RedisDigestStore } from '../../src/digests/digest-store.js';
import type { Digest } from '../../src/digests/digest.js';
import { redisKeys, type RedisKeys } from '../../src/redis.js';
import { RedisSubscriberStore } from '../../src/subscribers/subscriber-store.js';
import { openTestRedis } from '../helpers/redis.js';

describe('delivery ledger', () => {
  let redis: Redis;
  let keys: RedisKeys;
  let ledger: RedisDeliveryLedger;
  let digests: RedisDigestStore;
  let cleanup: () => Promise<void>;
  const now = new Date('2026-11-27T07:00:00Z');

  beforeEach(async () => {
    const opened = await openTestRedis('ledger');
    redis = opened.redis;
    cleanup = opened.cleanup;
    keys = redisKeys(opened.prefix);
    ledger = new RedisDeliveryLedger(redis, keys);
    digests = new RedisDigestStore(redis, keys);
    const subscribers = new RedisSubscriberStore(redis, keys, {
      suppressionKey: 'test-suppression-key-0123456789abcdef',
    });
    await subscribers.addMany(
      Array.from({ length: 4 }, (_, i) => ({
        email: `r${i}@example.org`,
        newsletterIds: ['daily'],
        status: 'active' as const,
      })),
    );
  });
  afterEach(async () => cleanup());

  async function sendingDigest(): Promise<Digest> {
    const digest: Digest = {
      id: 'daily-20261127-060000-abcd',
      newsletterId: 'daily',
      status: 'ready',
      subject: 'The Daily Digest',
      articleIds: [],
      createdAt: '2026-11-27T06:00:00.000Z',
      counts: { recipients: 0, delivered: 0, failed: 0, skipped: 0 },
    };
    await digests.create(digest, { subject: digest.subject, preheader: '', html: ['x'], text: ['x'] });
    const moved = await ledger.transition(
      digest.id,
      'daily',
      { from: ['ready'], to: 'sending', stamp: 'sendRequestedAt' },
      now,
    );
    expect(moved).toMatchObject({ previous: 'ready', status: 'sending' });
    return digest;
  }

  const record = (digestId: string, subscriberId: number, outcome: 'delivered' | 'failed' | 'skipped') =>
    ledger.recordOutcome({
      digestId,
      newsletterId: 'daily',
      subscriberId,
      outcome,
      reason: outcome === 'failed' ? '550 5.1.1' : undefined,
      pauseThreshold: 50,
      now,
    });

  it('records one outcome per reader even when two workers race to record different ones', async () => {
    const digest = await sendingDigest();
    await ledger.snapshotRecipients(digest.id, 'daily', 10);
    const results = await Promise.all([
      record(digest.id, 2, 'delivered'),
      record(digest.id, 2, 'failed'),
      record(digest.id, 2, 'skipped'),
    ]);
    expect(results.filter((r) => r.isRecorded)).toHaveLength(1);
    const counts = (await digests.get(digest.id))?.counts;
    expect((counts?.delivered ?? 0) + (counts?.failed ?? 0) + (counts?.skipped ?? 0)).toBe(1);
    expect((await record(digest.id, 9, 'delivered')).isRecorded).toBe(false); // not a recipient
  });

  it('the digest becomes sent only with the last outcome after fan-out, and moves the newsletter cut-off', async () => {
    const digest = await sendingDigest();
    expect(await ledger.snapshotRecipients(digest.id, 'daily', 10)).toEqual({ recipients: 4, batchSize: 10 });
    await record(digest.id, 1, 'delivered');
    await record(digest.id, 2, 'failed');
    await record(digest.id, 3, 'skipped');
    await record(digest.id, 4, 'delivered');
    // Every outcome is in, but fan-out has not finished enqueueing: not sent yet.
    expect((await digests.get(digest.id))?.status).toBe('sending');
    expect(await ledger.markFannedOut(digest.id, 'daily', now)).toBe('sent');
    const sent = await digests.get(digest.id);
    expect(sent).toMatchObject({
      status: 'sent',
      sentAt: now.toISOString(),
      counts: { recipients: 4, delivered: 2, failed: 1, skipped: 1 },
    });
    expect(await ledger.lastSentAt('daily')).toEqual(new Date(digest.createdAt));
    expect(await ledger.listFailures(digest.id)).toEqual([{ subscriberId: 2, reason: '550 5.1.1' }]);
  });

  it('a pending reader keeps the digest sending', async () => {
    const digest = await sendingDigest();
    await ledger.snapshotRecipients(digest.id, 'daily', 10);
    await ledger.markFannedOut(digest.id, 'daily', now);
    for (const id of [1, 2, 3]) expect((await record(digest.id, id, 'delivered')).status).toBe('sending');
    expect((await record(digest.id, 4, 'delivered')).status).toBe('sent');
  });

  it('a run of permanent refusals pauses the digest; a delivery in between resets the run', async () => {
    const digest = await sendingDigest();
    await ledger.snapshotRecipients(digest.id, 'daily', 10);
    const refuse = (id: number) =>
      ledger.recordOutcome({
        digestId: digest.id,
        newsletterId: 'daily',
        subscriberId: id,
        outcome: 'failed',
        reason: '554 5.7.1 policy',
        countsTowardsPause: true,
        pauseThreshold: 2,
        now,
      });
    expect((await refuse(1)).status).toBe('sending');
    await record(digest.id, 2, 'delivered');
    expect((await refuse(3)).status).toBe('sending');
    expect((await refuse(4)).status).toBe('paused');
    expect((await digests.get(digest.id))?.pausedReason).toContain('554 5.7.1 policy');
  });

  it('status changes are guarded: a cancelled digest cannot go back to sending', async () => {
    const digest = await sendingDigest();
    await ledger.transition(digest.id, 'daily', { from: ['ready', 'sending', 'paused'], to: 'cancelled' }, now);
    const attempt = await ledger.transition(digest.id, 'daily', { from: ['paused', 'sending'], to: 'sending' }, now);
    expect(attempt).toMatchObject({ previous: 'cancelled', status: 'cancelled' });
    expect(await ledger.transition('no-such-digest', 'daily', { from: ['ready'], to: 'sending' }, now)).toMatchObject({
      previous: undefined,
    });
  });
});
