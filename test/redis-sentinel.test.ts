/**
 * Letterpress behind Redis Sentinel: a real primary and a real sentinel (started for this file, killed afterwards).
 * Configured by REDIS_SENTINELS and REDIS_SENTINEL_NAME, the app asks the sentinel where the primary is and sends a
 * small digest through it; a sentinel that names no such primary is a clear start-up error.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createDigest } from '../src/digests/create-digest.js';
import { sendDigest } from '../src/delivery/send-digest.js';
import { waitForDigestSettled } from '../src/delivery/wait-for-digest.js';
import { isAppError } from '../src/errors.js';
import { silentLogger } from '../src/logger.js';
import { assertRedisReachable, createRedis, deletePrefix } from '../src/redis.js';
import { runWorkers, type RunningWorkers } from '../workers/run-workers.js';
import { countByRecipient, QUICK_JOB_OPTIONS, QUICK_WORKER_OPTIONS } from './delivery/delivery-fixture.js';
import { startRedisSentinel, type TestRedisSentinel } from './helpers/redis-topologies.js';
import { uniquePrefix } from './helpers/redis.js';
import { sendSampleDigest } from './helpers/sample-digest.js';
import { ingestSampleFeed } from './helpers/sample-feed.js';
import { waitUntil } from './helpers/wait-until.js';
import { startSmtpSink } from './helpers/smtp-sink.js';

const READERS = 30;

describe('behind Redis Sentinel', () => {
  let sentinel: TestRedisSentinel;
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;
  let app: App | undefined;
  let workers: RunningWorkers | undefined;
  const prefix = uniquePrefix('sentinel');

  beforeAll(async () => {
    sentinel = await startRedisSentinel('lp-primary');
    sink = await startSmtpSink();
  }, 60_000);

  afterAll(async () => {
    await workers?.close();
    if (app) {
      await deletePrefix(app.redis, prefix);
      await app.close();
    }
    await sink?.close();
    await sentinel?.close();
  });

  it('finds the primary through the sentinel and writes there', async () => {
    const redis = createRedis(sentinel.target);
    try {
      await redis.set(`{${prefix}}:probe`, 'through the sentinel');
      const direct = createRedis(sentinel.primary.url);
      expect(await direct.get(`{${prefix}}:probe`)).toBe('through the sentinel');
      await direct.del(`{${prefix}}:probe`);
      direct.disconnect();
    } finally {
      redis.disconnect();
    }
  });

  it('sends a digest to every reader exactly once, configured by REDIS_SENTINELS and REDIS_SENTINEL_NAME', async () => {
    const config = loadConfig({
      REDIS_SENTINELS: `${sentinel.sentinel.host}:${sentinel.sentinel.port}`,
      REDIS_SENTINEL_NAME: sentinel.name,
      LETTERPRESS_PREFIX: prefix,
      SMTP_URL: sink.url,
      SMTP_POOL_SIZE: '2',
      DELIVERY_BATCH_SIZE: '10',
      LOG_LEVEL: 'silent',
    });
    expect(config.redis).toEqual({
      kind: 'sentinel',
      sentinels: [sentinel.sentinel],
      name: 'lp-primary',
      isTls: false,
    });
    app = await createApp(config, { logger: silentLogger, jobOptions: QUICK_JOB_OPTIONS });
    workers = await runWorkers(app, { ...QUICK_WORKER_OPTIONS, kinds: ['fanout', 'deliver'] });

    const { emails, settled } = await sendSampleDigest(app, READERS);

    expect(settled.status).toBe('sent');
    expect(settled.counts).toEqual({ recipients: READERS, delivered: READERS, failed: 0, skipped: 0 });
    const perAddress = countByRecipient(sink.messages);
    expect([...perAddress.keys()].sort()).toEqual([...emails].sort());
    expect([...perAddress.values()].every((count) => count === 1)).toBe(true);
  }, 90_000);

  it('says which primary the sentinels do not know, instead of waiting forever', async () => {
    const error = await assertRedisReachable({ ...sentinel.target, name: 'no-such-primary' }, 1_000).catch(
      (caught: unknown) => caught,
    );
    expect(isAppError(error, 'redis_unavailable')).toBe(true);
    expect((error as Error).message).toContain('the primary "no-such-primary" named by the sentinels at 127.0.0.1:');
  });
});

describe('behind Redis Sentinel, across a failover', () => {
  let sentinel: TestRedisSentinel;
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;
  let app: App | undefined;
  let workers: RunningWorkers | undefined;
  const prefix = uniquePrefix('failover');

  beforeAll(async () => {
    sentinel = await startRedisSentinel('lp-failover', { withReplica: true });
    sink = await startSmtpSink();
  }, 60_000);

  afterAll(async () => {
    await workers?.close();
    if (app) {
      await deletePrefix(app.redis, prefix).catch(() => undefined);
      await app.close();
    }
    await sink?.close();
    await sentinel?.close();
  });

  it('keeps its readers when the replica takes over, follows the new primary, and sends to every reader once', async () => {
    const replica = sentinel.replica;
    if (!replica) throw new Error('expected a replica');
    const config = loadConfig({
      REDIS_SENTINELS: `${sentinel.sentinel.host}:${sentinel.sentinel.port}`,
      REDIS_SENTINEL_NAME: sentinel.name,
      LETTERPRESS_PREFIX: prefix,
      SMTP_URL: sink.url,
      SMTP_POOL_SIZE: '2',
      DELIVERY_BATCH_SIZE: '10',
      LOG_LEVEL: 'silent',
    });
    app = await createApp(config, { logger: silentLogger, jobOptions: QUICK_JOB_OPTIONS });
    workers = await runWorkers(app, { ...QUICK_WORKER_OPTIONS, kinds: ['fanout', 'deliver'] });
    await ingestSampleFeed(app);
    const emails = Array.from({ length: READERS }, (_, i) => `reader-${i}@example.org`);
    await app.subscribers.addMany(
      emails.map((email) => ({ email, newsletterIds: ['daily'], status: 'active' as const })),
    );
    // Everything written so far has reached the replica before it is promoted.
    expect(await (app.redis as Redis).wait(1, 5_000)).toBe(1);

    const control = createRedis(`redis://${sentinel.sentinel.host}:${sentinel.sentinel.port}`, {
      enableReadyCheck: false,
    });
    try {
      await control.call('SENTINEL', 'failover', sentinel.name);
      await waitUntil(
        'the sentinel to name the replica as primary',
        async () =>
          ((await control.call('SENTINEL', 'get-master-addr-by-name', sentinel.name)) as string[])[1] ===
          String(replica.port),
        { timeoutMs: 30_000, intervalMs: 100 },
      );
    } finally {
      control.disconnect();
    }
    // Sentinel disconnects the clients of the old primary when it demotes it; the app asks the sentinel again.
    await waitUntil(
      'the app to be connected to the new primary',
      async () => {
        const server = (await app?.redis.info('server').catch(() => '')) ?? '';
        return new RegExp(`^tcp_port:${replica.port}\\s*$`, 'm').test(server);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    await app.redis.set(`{${prefix}}:after-failover`, '1');
    const promoted = createRedis(replica.url);
    expect(await promoted.get(`{${prefix}}:after-failover`)).toBe('1');
    promoted.disconnect();

    const newsletter = app.config.newsletters[0];
    if (!newsletter) throw new Error('no newsletter configured');
    const digest = await createDigest(
      {
        articles: app.articles,
        digests: app.digests,
        lastSentAt: (id) => app!.lastSentAt(id),
        clock: () => new Date(),
      },
      { newsletter, site: app.config.site },
    );
    await sendDigest(app, { digestId: digest.id });
    const settled = await waitForDigestSettled(app, digest.id, { timeoutMs: 60_000 });

    expect(settled.status).toBe('sent');
    expect(settled.counts).toEqual({ recipients: READERS, delivered: READERS, failed: 0, skipped: 0 });
    const perAddress = countByRecipient(sink.messages);
    expect([...perAddress.keys()].sort()).toEqual([...emails].sort());
    expect([...perAddress.values()].every((count) => count === 1)).toBe(true);
  }, 120_000);
});

describe('behind Redis Sentinel with passwords', () => {
  it('connects with REDIS_SENTINEL_PASSWORD for the sentinel and REDIS_PASSWORD for the primary, and not without', async () => {
    const passwords = { primary: 'primary-password-0123456789', sentinel: 'sentinel-password-0123456789' };
    const sentinel = await startRedisSentinel('lp-guarded', { passwords });
    const prefix = uniquePrefix('sentinel-auth');
    try {
      const config = loadConfig({
        REDIS_SENTINELS: `${sentinel.sentinel.host}:${sentinel.sentinel.port}`,
        REDIS_SENTINEL_NAME: sentinel.name,
        REDIS_SENTINEL_PASSWORD: passwords.sentinel,
        REDIS_PASSWORD: passwords.primary,
        LETTERPRESS_PREFIX: prefix,
        LOG_LEVEL: 'silent',
      });
      const app = await createApp(config, { logger: silentLogger });
      try {
        await app.subscribers.addMany([{ email: 'reader@example.org', newsletterIds: ['daily'], status: 'active' }]);
        expect(await app.subscribers.getByEmail('reader@example.org')).toMatchObject({ status: 'active' });
        await deletePrefix(app.redis, prefix);
      } finally {
        await app.close();
      }
      const withoutPrimaryPassword = await assertRedisReachable(
        { ...sentinel.target, password: undefined },
        1_000,
      ).catch((caught: unknown) => caught);
      expect(isAppError(withoutPrimaryPassword, 'redis_unavailable')).toBe(true);
      expect(String(withoutPrimaryPassword)).not.toContain(passwords.primary);
    } finally {
      await sentinel.close();
    }
  }, 60_000);
});
