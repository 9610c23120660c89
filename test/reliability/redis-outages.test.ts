/** Scenario 2, small, and Redis missing when a worker starts. */
import { afterEach, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { spawnWorker, waitForExit } from '../helpers/processes.js';
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

    it('exits at once with a one-line message naming the Redis it could not reach', async () => {
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
      const exit = await waitForExit(worker, 60_000);
      expect(exit?.code).toBe(1);
      const escapedUrl = redis.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      expect(worker.stderr().trim()).toMatch(new RegExp(`^letterpress: cannot reach Redis at ${escapedUrl}: .+$`));
      expect(worker.stderr()).not.toMatch(/\n\s+at /); // no stack trace
    }, 90_000);
  });
});
