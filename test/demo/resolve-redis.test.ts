/** How the demo finds a Redis: the configured one, the local one, or a private one it starts and stops. */
import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { HOW_TO_GET_REDIS, resolveDemoRedis, startDemoRedis } from '../../src/demo/resolve-redis.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

describe('the demo’s Redis', () => {
  it('uses REDIS_URL when it is set and reachable', async () => {
    const resolved = await resolveDemoRedis(TEST_REDIS_URL);
    expect(resolved).toMatchObject({ url: TEST_REDIS_URL, origin: 'REDIS_URL' });
    await resolved.stop();
  });

  it('says which Redis it could not reach when REDIS_URL is wrong', async () => {
    await expect(resolveDemoRedis('redis://127.0.0.1:1')).rejects.toThrowError(
      /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/,
    );
  });

  it('starts a private redis-server that answers, and stops it', async () => {
    const resolved = await startDemoRedis();
    const client = new Redis(resolved.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
    await resolved.stop();
    const after = new Redis(resolved.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    after.on('error', () => {});
    await expect(after.connect()).rejects.toThrow();
    after.disconnect();
  });

  it('explains in one sentence how to get Redis when redis-server cannot be started', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startDemoRedis()).rejects.toThrowError(/could not start redis-server/);
    } finally {
      process.env.PATH = path;
    }
    expect(HOW_TO_GET_REDIS).toMatch(/apt-get install redis-server.*brew install redis.*docker compose up -d redis/);
  });
});
