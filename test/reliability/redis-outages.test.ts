/** Scenario 2, small, and Redis missing when a worker starts. */
import { afterEach, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../../src/private-redis.js';
import { Redis } from 'ioredis';
import { spawnWorker, waitForExit } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait-until.js';
import { findScenario, smallScale } from './scenarios.js';

describe('a send survives Redis going away', () => {
  it('Redis restarted during fan-out (killed) and during delivery (shut down) loses nobody and sends nobody twice', async () => {
    const result = await findScenario('redis-restarts').run(smallScale);
    expect(result.facts.restarts).toBe(2);
    expect(result.facts.firstRestartDuringFanOut).toBe(1);
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ delivered: result.recipients, duplicates: 0, lost: 0 });
  }, 180_000);

  describe('a worker started while Redis is unreachable', () => {
    let redis: PrivateRedis | undefined;
    afterEach(async () => {
      await redis?.close();
      redis = undefined;
    });

    it('says which Redis it is waiting for, waits without crashing, and starts working when Redis answers', async () => {
      redis = await startPrivateRedis();
      await redis.stop('kill');
      const worker = spawnWorker({
        env: {
          REDIS_URL: redis.url,
          LETTERPRESS_PREFIX: 'unreachable',
          SMTP_URL: 'smtp://127.0.0.1:9',
          LOG_LEVEL: 'warn',
        },
      });
      await waitUntil(
        'the worker to say it waits for Redis',
        () => worker.stderr().includes('waiting for Redis') || undefined,
        {
          timeoutMs: 30_000,
        },
      );
      expect(worker.stderr()).toContain(`cannot reach Redis at ${redis.url}`);
      expect(worker.stderr()).not.toMatch(/\n\s+at /); // no stack trace
      expect(worker.isRunning()).toBe(true);

      await redis.start();
      const client = new Redis(redis.url);
      try {
        // BullMQ's workers hold blocking connections once started: the worker got to work.
        await waitUntil(
          'the worker to connect',
          async () =>
            ((await client.client('LIST')) as string)
              .split('\n')
              .filter((line) => line.includes('cmd=bzpopmin') || line.includes('name=bull')).length > 0 || undefined,
          { timeoutMs: 60_000 },
        );
      } finally {
        client.disconnect();
      }
      worker.kill('SIGTERM');
      const exit = await waitForExit(worker, 60_000);
      expect(exit?.code).toBe(0);
    }, 150_000);
  });
});
