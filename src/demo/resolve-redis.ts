/**
 * Finds a Redis for the demo: REDIS_URL if set, else 127.0.0.1:6379, else a private `redis-server` from PATH started
 * in a temporary folder and stopped at exit. If none works, says in one sentence how to get Redis.
 */
import { AppError } from '../errors.js';
import { startPrivateRedis } from '../private-redis.js';
import { assertRedisReachable } from '../redis.js';

/** Where the demo's Redis came from, and how to let it go. */
export interface ResolvedRedis {
  /** The URL to connect to; empty for a Cluster or Sentinel, which the environment names itself. */
  url: string;
  origin: 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_SENTINELS' | 'local' | 'private';
  stop(): Promise<void>;
}

/** The one sentence printed when no Redis can be found or started. */
export const HOW_TO_GET_REDIS =
  'Letterpress needs Redis 6.2 or newer: install it (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`), or run `docker compose up -d redis`, or point REDIS_URL at one.';

/**
 * The demo's Redis from its environment: a Cluster or Sentinel the environment names is used as it is (the app checks
 * that it answers); otherwise `resolveDemoRedis` with REDIS_URL.
 */
export async function resolveDemoRedisFromEnv(env: Record<string, string | undefined>): Promise<ResolvedRedis> {
  for (const origin of ['REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'] as const) {
    if (env[origin]) return { url: '', origin, stop: async () => {} };
  }
  return resolveDemoRedis(env.REDIS_URL);
}

/** Resolves a Redis for the demo in the documented order. */
export async function resolveDemoRedis(configuredUrl: string | undefined): Promise<ResolvedRedis> {
  const nothingToStop = async () => {};
  if (configuredUrl) {
    await assertRedisReachable(configuredUrl);
    return { url: configuredUrl, origin: 'REDIS_URL', stop: nothingToStop };
  }
  const localUrl = 'redis://127.0.0.1:6379';
  try {
    await assertRedisReachable(localUrl, 1_000);
    return { url: localUrl, origin: 'local', stop: nothingToStop };
  } catch {
    // Not running locally: try to start a private one.
  }
  try {
    return await startDemoRedis();
  } catch (error) {
    throw new AppError('redis_unavailable', `${HOW_TO_GET_REDIS} (${(error as Error).message})`);
  }
}

/** Starts `redis-server` from PATH on a free loopback port in a temporary folder, without persistence. */
export async function startDemoRedis(): Promise<ResolvedRedis> {
  const server = await startPrivateRedis({ appendonly: false });
  return { url: server.url, origin: 'private', stop: server.close };
}
