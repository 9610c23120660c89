/** Fan-out on a real Redis and real queues: a million readers cost bits and a couple of thousand jobs, once. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { fanOutDigest } from '../../src/delivery/fan-out-digest.js';
import type { Digest } from '../../src/digests/digest.js';
import { silentLogger } from '../../src/logger.js';
import { fanOutDepsFromApp } from '../../workers/fan-out-worker.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';

const READERS = 1_000_000;
const BATCH = 500;

describe('fanning out a digest', () => {
  let app: App;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    const opened = await openTestRedis('fanout');
    cleanup = opened.cleanup;
    app = await createApp(
      loadConfig({ REDIS_URL: TEST_REDIS_URL, LETTERPRESS_PREFIX: opened.prefix, DELIVERY_BATCH_SIZE: String(BATCH) }),
      { logger: silentLogger },
    );
  });
  afterEach(async () => {
    await app.close();
    await cleanup();
  });

  async function sendingDigest(): Promise<Digest> {
    const digest: Digest = {
      id: 'daily-20261127-060000-test',
      newsletterId: 'daily',
      status: 'sending',
      subject: 'The Daily Digest',
      articleIds: [],
      createdAt: new Date().toISOString(),
      counts: { recipients: 0, delivered: 0, failed: 0, skipped: 0 },
    };
    await app.digests.create(digest, { subject: digest.subject, preheader: '', html: ['<p>hi</p>'], text: ['hi'] });
    return digest;
  }

  const deps = () => fanOutDepsFromApp(app, { batchSize: BATCH, clock: () => new Date(), logger: silentLogger });

  it('a million readers become 2,000 range jobs and a few bytes per pending reader, and a re-run adds nothing', async () => {
    // A million active readers with ids 1..1,000,000 (bit 0 is never an id).
    const active = Buffer.alloc(READERS / 8 + 1, 0xff);
    active[0] = 0x7f;
    active[active.length - 1] = 0x80;
    await app.redis.set(app.keys.newsletterActive('daily'), active);
    const before = await prefixMemory(app);
    const digest = await sendingDigest();

    const first = await fanOutDigest(deps(), { digestId: digest.id });
    const second = await fanOutDigest(deps(), { digestId: digest.id });

    expect(first).toEqual({ status: 'sending', recipients: READERS, ranges: READERS / BATCH });
    expect(second.recipients).toBe(READERS);
    expect(await app.queues.queues.deliver.getJobCounts('waiting')).toEqual({ waiting: READERS / BATCH });
    const stored = await app.digests.get(digest.id);
    expect(stored?.counts.recipients).toBe(READERS);
    expect(stored?.fannedOutAt).toBeDefined();

    const bytesPerReader = ((await prefixMemory(app)) - before) / READERS;
    console.info(
      `fan-out of ${READERS} readers: ${bytesPerReader.toFixed(2)} bytes per pending reader (snapshot + jobs)`,
    );
    expect(bytesPerReader).toBeLessThan(6);
  });

  it('the snapshot is taken once: readers who join after fan-out are not added to the digest', async () => {
    await app.subscribers.addMany(
      Array.from({ length: 5 }, (_, i) => ({
        email: `r${i}@example.org`,
        newsletterIds: ['daily'],
        status: 'active' as const,
      })),
    );
    const digest = await sendingDigest();
    await fanOutDigest(deps(), { digestId: digest.id });
    await app.subscribers.add({ email: 'late@example.org', newsletterIds: ['daily'], status: 'active' });
    const again = await fanOutDigest(deps(), { digestId: digest.id });
    expect(again.recipients).toBe(5);
    expect((await app.digests.get(digest.id))?.counts.recipients).toBe(5);
  });

  it('a resumed fan-out plans only the ranges that still have someone pending', async () => {
    await app.subscribers.addMany(
      Array.from({ length: 1_200 }, (_, i) => ({
        email: `r${i}@example.org`,
        newsletterIds: ['daily'],
        status: 'active' as const,
      })),
    );
    const digest = await sendingDigest();
    expect((await fanOutDigest(deps(), { digestId: digest.id })).ranges).toBe(3);
    // Everyone in the first range (ids 1..500) is settled.
    await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        app.ledger.recordOutcome({
          digestId: digest.id,
          newsletterId: 'daily',
          subscriberId: i + 1,
          outcome: 'delivered',
          pauseThreshold: 50,
          now: new Date(),
        }),
      ),
    );
    await app.queues.queues.deliver.obliterate({ force: true });
    const resumed = await fanOutDigest(deps(), { digestId: digest.id, resume: 1 });
    expect(resumed.ranges).toBe(2);
    const jobs = await app.queues.queues.deliver.getJobs(['waiting']);
    expect(jobs.map((job) => job.data.fromId).sort((a, b) => a - b)).toEqual([501, 1001]);
  });
});

/** Sum of MEMORY USAGE over every key of the app's prefix. */
async function prefixMemory(app: App): Promise<number> {
  let total = 0;
  let cursor = '0';
  do {
    const [next, keys] = await app.redis.scan(cursor, 'MATCH', app.keys.pattern, 'COUNT', 1000);
    cursor = next;
    const sizes = await Promise.all(keys.map((key) => app.redis.memory('USAGE', key, 'SAMPLES', '0')));
    total += sizes.reduce<number>((sum, size) => sum + (Number(size) || 0), 0);
  } while (cursor !== '0');
  return total;
}
