/**
 * The benchmark's private redis-server (see src/private-redis.ts): its own port and temp dir, no persistence, so the
 * CPU time and memory it reports belong to the benchmark alone. Never touches the Redis on 6379.
 */
import type { ChildProcess } from 'node:child_process';
import { startPrivateRedis as startRedisServer } from '../src/private-redis.js';

/** A running private Redis. */
export interface PrivateRedis {
  url: string;
  port: number;
  /** Process id of redis-server, for /proc accounting. */
  pid: number;
  /** Stops the server and removes its temp dir. */
  stop(): Promise<void>;
}

/** Starts redis-server on a free port in a fresh temp dir without persistence, and waits for PONG. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const server = await startRedisServer({ appendonly: false });
  return { url: server.url, port: server.port, pid: server.pid() ?? 0, stop: server.close };
}

/** Sends SIGTERM to a child we started and waits for it to exit (SIGKILL after 5 s). */
export async function stopChild(child: ChildProcess, timeoutMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
