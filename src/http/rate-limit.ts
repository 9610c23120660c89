/**
 * Rate limits shared by every `letterpress serve` process through Redis (rate-limiter-flexible). A limiter counts
 * points per key within a window; keys that stand for a person (an address) are passed through `hashKey` first so no
 * address is ever written to Redis in clear.
 */
import { createHmac } from 'node:crypto';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedisKeys, RedisClient } from '../redis.js';

/** One limiter's budget. */
export interface RateLimitOptions {
  /** Name in the Redis key, e.g. `subscribe-ip`. */
  name: string;
  /** Points allowed per window. */
  points: number;
  /** Window length in seconds. */
  durationSeconds: number;
  /** Once over the limit, refuse for this long (0: until the window ends). @defaultValue 0 */
  blockSeconds?: number;
}

/** The answer to one request. */
export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** A limiter: consume a point, or look without consuming, or forget a key. */
export interface RateLimiter {
  consume(key: string, points?: number): Promise<RateLimitDecision>;
  /** Whether the key is over its limit now, without consuming. */
  peek(key: string): Promise<RateLimitDecision>;
  reset(key: string): Promise<void>;
}

/** Builds a limiter on the app's Redis connection, its keys under the installation's hash tag. */
export function createRateLimiter(
  redis: RedisClient,
  keys: Pick<RedisKeys, 'rateLimit'>,
  options: RateLimitOptions,
): RateLimiter {
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: keys.rateLimit(options.name),
    points: options.points,
    duration: options.durationSeconds,
    blockDuration: options.blockSeconds ?? 0,
  });
  const refused = (result: RateLimiterRes): RateLimitDecision => ({
    allowed: false,
    retryAfterSeconds: Math.max(1, Math.ceil(result.msBeforeNext / 1000)),
  });
  return {
    async consume(key, points = 1) {
      try {
        await limiter.consume(key, points);
        return { allowed: true };
      } catch (error) {
        if (error instanceof RateLimiterRes) return refused(error);
        throw error;
      }
    },
    async peek(key) {
      const result = await limiter.get(key);
      if (result && result.remainingPoints <= 0 && result.msBeforeNext > 0) return refused(result);
      return { allowed: true };
    },
    async reset(key) {
      await limiter.delete(key);
    },
  };
}

/** A keyed hash of a personal key (an address), so the limiter's Redis keys never hold it in clear. */
export function hashKey(secret: string, value: string): string {
  return createHmac('sha256', secret)
    .update(`rate-limit:${value.trim().toLowerCase()}`)
    .digest('base64url')
    .slice(0, 32);
}
