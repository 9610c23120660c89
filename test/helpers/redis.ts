/** Test helpers for Redis: every test gets its own key prefix on the machine's Redis and cleans it up. */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createRedis, deletePrefix } from '../../src/redis.js';

/** The Redis the tests share (never restarted by a test; tests that restart Redis start their own). */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh, unique key prefix for one test. */
export function uniquePrefix(label = 't'): string {
  return `test-${label}-${randomBytes(5).toString('hex')}`;
}

/** A Redis connection plus a unique prefix; `cleanup()` deletes the prefix's keys and closes the connection. */
export async function openTestRedis(
  label?: string,
): Promise<{ redis: Redis; prefix: string; cleanup: () => Promise<void> }> {
  const redis = createRedis(TEST_REDIS_URL);
  const prefix = uniquePrefix(label);
  return {
    redis,
    prefix,
    cleanup: async () => {
      await deletePrefix(redis, prefix);
      redis.disconnect();
    },
  };
}
