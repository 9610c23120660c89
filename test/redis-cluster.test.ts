/**
 * Letterpress on a real Redis Cluster of three primaries (started for this file, killed afterwards): configured by
 * REDIS_CLUSTER_NODES, a whole digest goes from the sample feed to every reader's inbox through real BullMQ workers
 * and every Lua script of the ledger, and every key the installation wrote sits in the one slot of its hash tag.
 */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { deletePrefix, primariesOf } from '../src/redis.js';
import { runWorkers, type RunningWorkers } from '../workers/run-workers.js';
import { countByRecipient, QUICK_JOB_OPTIONS, QUICK_WORKER_OPTIONS } from './delivery/delivery-fixture.js';
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

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    sink = await startSmtpSink();
    prefix = uniquePrefix('cluster');
    const config = loadConfig({
      REDIS_CLUSTER_NODES: cluster.nodes.map((node) => `${node.host}:${node.port}`).join(','),
      LETTERPRESS_PREFIX: prefix,
      SMTP_URL: sink.url,
      SMTP_POOL_SIZE: '4',
      DELIVERY_BATCH_SIZE: '25',
      DELIVERY_CONCURRENCY: '2',
      LOG_LEVEL: 'silent',
    });
    app = await createApp(config, { logger: silentLogger, jobOptions: QUICK_JOB_OPTIONS });
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
});
