/**
 * Letterpress on a real Redis Cluster of three primaries (started for this file, killed afterwards): configured by
 * REDIS_CLUSTER_NODES, a whole digest goes from the sample feed to every reader's inbox through real BullMQ workers
 * and every Lua script of the ledger, and every key the installation wrote sits in the one slot of its hash tag.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { runDemo } from '../src/demo/run-demo.js';
import { silentLogger } from '../src/logger.js';
import { isAppError } from '../src/errors.js';
import { assertRedisReachable, createRedis, deletePrefix, isRedisResponsive, primariesOf } from '../src/redis.js';
import { runWorkers, type RunningWorkers } from '../workers/run-workers.js';
import { countByRecipient, QUICK_JOB_OPTIONS, QUICK_WORKER_OPTIONS } from './delivery/delivery-fixture.js';
import { runLetterpress } from './helpers/cli.js';
import { startRedisCluster, type TestRedisCluster } from './helpers/redis-topologies.js';
import { uniquePrefix } from './helpers/redis.js';
import { sendSampleDigest } from './helpers/sample-digest.js';
import { startSmtpSink } from './helpers/smtp-sink.js';

const READERS = 120;

describe('on a Redis Cluster of three primaries', () => {
  let cluster: TestRedisCluster;
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;
  let app: App;
  let workers: RunningWorkers | undefined;
  let prefix: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    sink = await startSmtpSink();
    prefix = uniquePrefix('cluster');
    env = {
      REDIS_CLUSTER_NODES: cluster.nodes.map((node) => `${node.host}:${node.port}`).join(','),
      LETTERPRESS_PREFIX: prefix,
      SMTP_URL: sink.url,
      SMTP_POOL_SIZE: '4',
      DELIVERY_BATCH_SIZE: '25',
      DELIVERY_CONCURRENCY: '2',
      LOG_LEVEL: 'silent',
    };
    app = await createApp(loadConfig(env), { logger: silentLogger, jobOptions: QUICK_JOB_OPTIONS });
  }, 60_000);

  afterAll(async () => {
    await workers?.close();
    if (app) {
      await deletePrefix(app.redis, prefix);
      await app.close();
    }
    await sink?.close();
    await cluster?.close();
  });

  it('connects as a Cluster client and checks every primary at start', async () => {
    expect(app.redis).toBeInstanceOf(Cluster);
    expect(app.queues.connection).toBeInstanceOf(Cluster);
    expect((await primariesOf(app.redis)).map((node) => node.options.port).sort()).toEqual(
      cluster.nodes.map((node) => node.port).sort(),
    );
  });

  it('ingests the sample feed, sends a digest, and every reader receives it exactly once', async () => {
    workers = await runWorkers(app, { ...QUICK_WORKER_OPTIONS, kinds: ['fanout', 'deliver'] });

    const { emails, digest, settled } = await sendSampleDigest(app, READERS);

    expect(digest.articleIds.length).toBeGreaterThan(0);
    expect(settled.status).toBe('sent');
    expect(settled.counts).toEqual({ recipients: READERS, delivered: READERS, failed: 0, skipped: 0 });
    const perAddress = countByRecipient(sink.messages);
    expect([...perAddress.keys()].sort()).toEqual([...emails].sort());
    expect([...perAddress.values()].every((count) => count === 1)).toBe(true);
  }, 90_000);

  it('counts the sign-up form’s rate limits in the Cluster too', async () => {
    const limiter = app.readerLimits.subscribePerAddress;
    const key = app.readerLimits.addressKey('someone@example.org');
    for (let attempt = 0; attempt < app.config.subscribe.ratePerAddressPerHour; attempt += 1) {
      expect(await limiter.consume(key)).toEqual({ allowed: true });
    }
    expect(await limiter.consume(key)).toMatchObject({ allowed: false });
    await limiter.reset(key);
    expect(await limiter.peek(key)).toEqual({ allowed: true });
  });

  it('keeps every key of the installation, queues included, in the one slot of its hash tag', async () => {
    const keys: string[] = [];
    for (const primary of await primariesOf(app.redis)) {
      let cursor = '0';
      do {
        const [next, found] = await primary.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...found);
      } while (cursor !== '0');
    }
    expect(keys.some((key) => key.startsWith(`{${prefix}}:q:deliver:`))).toBe(true);
    expect(keys.some((key) => key.includes(':digest:'))).toBe(true);
    expect(keys.some((key) => key.includes(':subscriber:'))).toBe(true);
    const cluster = app.redis as Cluster;
    const slots = new Set(await Promise.all(keys.map((key) => cluster.cluster('KEYSLOT', key))));
    expect(slots.size).toBe(1);
  });

  it('a serve-style connection (failing fast while Redis is away) answers its health check', async () => {
    const serving = await createApp(loadConfig(env), { logger: silentLogger, redisCommandTimeoutMs: 5_000 });
    try {
      expect(await isRedisResponsive(serving.redis, 2_000)).toBe(true);
      expect(await serving.digests.get('no-such-digest')).toBeUndefined();
    } finally {
      await serving.close();
    }
  });

  it('refuses to start when any primary may evict keys, and the doctor names the problem', async () => {
    const [, , third] = cluster.servers;
    if (!third) throw new Error('expected three primaries');
    const node = createRedis(third.url);
    try {
      await node.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const refused = await createApp(loadConfig(env), { logger: silentLogger }).catch((error: unknown) => error);
      expect(isAppError(refused, 'redis_misconfigured')).toBe(true);
      expect((refused as Error).message).toContain(`"allkeys-lru" on 127.0.0.1:${third.port}`);

      const doctor = await runLetterpress(['doctor', '--json'], env);
      expect(doctor.code, JSON.stringify(doctor.json ?? doctor.stderr)).toBe(1);
      const findings = (doctor.json as { findings: { area: string; name: string; status: string }[] }).findings;
      expect(findings.find((finding) => finding.name === 'maxmemory-policy')).toMatchObject({ status: 'fail' });
      expect(findings.find((finding) => finding.name === 'version')).toMatchObject({ status: 'ok' });
    } finally {
      await node.config('SET', 'maxmemory-policy', 'noeviction');
      node.disconnect();
    }
  }, 60_000);

  it('runs the demo on the Cluster the environment names, with every worker kind, and leaves no key behind', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'lp-cluster-demo-'));
    try {
      const summary = await runDemo({
        outDir: out,
        keepData: false,
        env: { REDIS_CLUSTER_NODES: env.REDIS_CLUSTER_NODES },
      });
      expect(summary).toMatchObject({ redis: 'REDIS_CLUSTER_NODES', failed: 0 });
      expect(summary.delivered).toBe(summary.subscribers);
      const leftOver = await Promise.all(
        (await primariesOf(app.redis)).map((node) => node.scan('0', 'MATCH', `{${summary.prefix}}:*`, 'COUNT', 10_000)),
      );
      expect(leftOver.flatMap(([, keys]) => keys)).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('on a Redis Cluster whose nodes require a password', () => {
  it('connects with REDIS_PASSWORD, and says which Cluster refused it without one', async () => {
    const password = 'cluster-password-0123456789';
    const guarded = await startRedisCluster(3, { password });
    const prefix = uniquePrefix('cluster-auth');
    try {
      const config = loadConfig({
        REDIS_CLUSTER_NODES: guarded.nodes.map((node) => `${node.host}:${node.port}`).join(','),
        REDIS_PASSWORD: password,
        LETTERPRESS_PREFIX: prefix,
        LOG_LEVEL: 'silent',
      });
      const guardedApp = await createApp(config, { logger: silentLogger });
      try {
        await guardedApp.subscribers.addMany([
          { email: 'reader@example.org', newsletterIds: ['daily'], status: 'active' },
        ]);
        expect(await guardedApp.subscribers.getByEmail('reader@example.org')).toMatchObject({ status: 'active' });
        await deletePrefix(guardedApp.redis, prefix);
      } finally {
        await guardedApp.close();
      }
      const refused = await assertRedisReachable({ ...guarded.target, password: undefined }, 1_000).catch(
        (caught: unknown) => caught,
      );
      expect(isAppError(refused, 'redis_unavailable')).toBe(true);
      expect((refused as Error).message).toContain('cannot reach Redis at the Redis Cluster at 127.0.0.1:');
    } finally {
      await guarded.close();
    }
  }, 60_000);
});
