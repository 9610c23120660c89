/**
 * Finds a Redis for the demo: REDIS_URL if set, else 127.0.0.1:6379, else a private `redis-server` from PATH started
 * in a temporary folder and stopped at exit. If none works, says in one sentence how to get Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { assertRedisReachable } from '../redis.js';

/** Where the demo's Redis came from, and how to let it go. */
export interface ResolvedRedis {
  url: string;
  origin: 'REDIS_URL' | 'local' | 'private';
  stop(): Promise<void>;
}

/** The one sentence printed when no Redis can be found or started. */
export const HOW_TO_GET_REDIS =
  'Letterpress needs Redis 6.2 or newer: install it (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`), or run `docker compose up -d redis`, or point REDIS_URL at one.';

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
    return await startPrivateRedis();
  } catch (error) {
    throw new AppError('redis_unavailable', `${HOW_TO_GET_REDIS} (${(error as Error).message})`);
  }
}

/** Starts `redis-server` from PATH on a free loopback port in a temporary folder, without persistence. */
export async function startPrivateRedis(): Promise<ResolvedRedis> {
  const directory = await mkdtemp(join(tmpdir(), 'letterpress-redis-'));
  const port = await findFreePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', directory, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const spawnError = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`could not start redis-server: ${error.message}`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}`)));
  });
  const url = `redis://127.0.0.1:${port}`;
  const ready = (async () => {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      try {
        await assertRedisReachable(url, 500);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error('redis-server did not answer within 5 seconds');
  })();
  try {
    await Promise.race([ready, spawnError]);
  } catch (error) {
    child.kill('SIGKILL');
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  spawnError.catch(() => {});
  return {
    url,
    origin: 'private',
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Asks the kernel for a free loopback port. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
