/**
 * The shared records behind the metrics, on real Redis: two workers' latencies add up, a feed counts as failing from
 * its first failure until it succeeds (and a private feed's token never becomes a label), a relay is set aside after
 * a run of connection failures and taken back at its first answer, and a queue's recent rate reads BullMQ's minutes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { RedisMetricsStore } from '../../src/ops/metrics-store.js';
import { createSendTelemetry } from '../../src/ops/send-telemetry.js';
import { judgeHostWorker, type ObservedWorker } from '../../src/ops/worker-heartbeats.js';
import { recentRatePerMinute } from '../../src/queue/queue-admin.js';
import { redisKeys } from '../../src/redis.js';
import { openTestRedis } from '../helpers/redis.js';

const connectionRefused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNECTION' });
const greylisted = Object.assign(new Error('451 4.7.1 try later'), {
  responseCode: 451,
  response: '451 4.7.1 try later',
});

describe('records behind the metrics', () => {
  let redis: Redis;
  let cleanup: () => Promise<void>;
  let store: RedisMetricsStore;
  let prefix: string;

  beforeEach(async () => {
    const opened = await openTestRedis('ops-records');
    redis = opened.redis;
    cleanup = opened.cleanup;
    prefix = opened.prefix;
    store = new RedisMetricsStore(redis, redisKeys(opened.prefix));
  });
  afterEach(async () => cleanup());

  it('adds two workers’ send latencies and retries into one histogram', async () => {
    for (const seconds of [
      [0.003, 0.04, 0.2],
      [0.004, 7, 45],
    ]) {
      const telemetry = createSendTelemetry({ setAsideAfter: 3 });
      for (const s of seconds) telemetry.observe('relay:587', s, { ok: true });
      telemetry.observe('relay:587', 0.02, { ok: false, error: greylisted });
      await store.addTelemetry(telemetry.drain());
    }
    const histogram = await store.readSendLatency();
    expect(histogram.count).toBe(8);
    expect(histogram.sumSeconds).toBeCloseTo(0.003 + 0.04 + 0.2 + 0.004 + 7 + 45 + 0.04, 6);
    const at = (le: number) => histogram.buckets.find((bucket) => bucket.le === le)?.count;
    expect([at(0.005), at(0.025), at(0.05), at(0.25), at(10), at(30), at(Infinity)]).toEqual([2, 4, 5, 6, 7, 7, 8]);
    expect(await store.readDeliveryTotals()).toEqual([{ outcome: 'retried', replyClass: 'transient', count: 2 }]);
  });

  it('counts a feed as failing from its first failure until a fetch succeeds, without its token in the label', async () => {
    const feed = 'https://reader:pa55@cms.example/feed.xml?token=s3cret-feed-token';
    const none = { ingested: 0, updated: 0, unchanged: 0 };
    await store.recordIngest([{ feed, ok: false }], none, new Date('2026-11-27T06:00:00Z'));
    await store.recordIngest([{ feed, ok: false }], none, new Date('2026-11-27T07:00:00Z'));
    let { feeds } = await store.readFeeds();
    expect(feeds).toEqual([
      {
        feed: 'https://cms.example/feed.xml',
        fetchesOk: 0,
        fetchesRejected: 2,
        articles: 0,
        failingSince: Date.parse('2026-11-27T06:00:00Z'),
      },
    ]);
    await store.recordIngest(
      [{ feed, ok: true, articles: 12 }],
      { ingested: 3, updated: 1, unchanged: 8 },
      new Date('2026-11-27T08:00:00Z'),
    );
    ({ feeds } = await store.readFeeds());
    expect(feeds[0]).toEqual({
      feed: 'https://cms.example/feed.xml',
      fetchesOk: 1,
      fetchesRejected: 2,
      articles: 12,
      lastSuccessAt: Date.parse('2026-11-27T08:00:00Z'),
    });
    expect((await store.readFeeds()).totals).toEqual({ ingested: 3, updated: 1, unchanged: 8 });
    const keys = await redis.keys(`{${prefix}}:*`);
    const stored = JSON.stringify(await Promise.all(keys.map((key) => redis.hgetall(key))));
    expect(stored).toContain('cms.example/feed.xml');
    expect(stored).not.toMatch(/s3cret|pa55|reader/);
  });

  it('sets a relay aside after three connection failures in a row and takes it back at its first answer', () => {
    const telemetry = createSendTelemetry({ setAsideAfter: 3 });
    telemetry.observe('relay:587', 0.01, { ok: false, error: connectionRefused });
    telemetry.observe('relay:587', 0.01, { ok: false, error: greylisted });
    telemetry.observe('relay:587', 0.01, { ok: false, error: connectionRefused });
    telemetry.observe('relay:587', 0.01, { ok: false, error: connectionRefused });
    expect(telemetry.drain().relays[0]).toMatchObject({ consecutiveUnavailable: 2, isSetAside: false });
    telemetry.observe('relay:587', 0.01, { ok: false, error: connectionRefused });
    expect(telemetry.drain().relays[0]).toMatchObject({ consecutiveUnavailable: 3, isSetAside: true });
    telemetry.observe('relay:587', 0.01, { ok: true });
    expect(telemetry.drain().relays[0]).toMatchObject({ consecutiveUnavailable: 0, isSetAside: false });
  });
});

describe('what ops read from the queues and heartbeats', () => {
  it('reads jobs per minute over the last five minutes from BullMQ’s per-minute counts', () => {
    const now = new Date('2026-11-27T06:10:30Z');
    const checkpoint = Date.parse('2026-11-27T06:10:05Z');
    // 12 jobs this minute, then 30, 30, 30, 30 in the four before, and 999 long ago.
    const metrics = { meta: { count: 1131, prevTS: checkpoint, prevCount: 1119 }, data: [30, 30, 30, 30, 999] };
    expect(recentRatePerMinute(metrics, now)).toBeCloseTo((12 + 120) / 5, 6);
    // Quiet for an hour: nothing recent, however busy it once was.
    expect(recentRatePerMinute(metrics, new Date('2026-11-27T07:10:30Z'))).toBe(0);
  });

  it('judges a host by its newest worker: a replaced process that stopped beating does not make it unhealthy', () => {
    const worker = (id: string, startedAt: string, isStale: boolean): ObservedWorker => ({
      id,
      host: 'worker-1',
      pid: 1,
      kinds: ['deliver'],
      startedAt,
      beatAt: startedAt,
      beatEveryMs: 5_000,
      rssBytes: 1,
      relays: [],
      ageMs: isStale ? 60_000 : 1_000,
      isStale,
    });
    const newestFirst = [worker('new', '2026-11-27T06:05:00Z', false), worker('old', '2026-11-27T06:00:00Z', true)];
    expect(judgeHostWorker(newestFirst, 'worker-1')).toMatchObject({ isHealthy: true });
    expect(judgeHostWorker([worker('old', '2026-11-27T06:00:00Z', true)], 'worker-1')).toMatchObject({
      isHealthy: false,
      reason: expect.stringContaining('stopped beating'),
    });
    expect(judgeHostWorker(newestFirst, 'worker-2').isHealthy).toBe(false);
  });
});
