/**
 * A private redis-server: its own free loopback port and its own temp directory, append-only persistence
 * (`appendfsync everysec`) unless turned off, no RDB snapshots, never evicting. The demo starts one when no Redis
 * answers, the benchmark runs on one so its figures are its own, and tests that stop and restart Redis use one; it
 * never touches a Redis on 6379.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRedis } from './redis.js';

/** How a private Redis is stopped. */
export const RedisStopMode = {
  /** SHUTDOWN-like: SIGTERM, Redis flushes and fsyncs its append-only file before exiting. */
  graceful: 'graceful',
  /** SIGKILL: the process dies at once. Writes already in the AOF survive; the OS page cache holds them. */
  kill: 'kill',
} as const;
export type RedisStopMode = (typeof RedisStopMode)[keyof typeof RedisStopMode];

/** Options of a private Redis. */
export interface PrivateRedisOptions {
  /** Append-only persistence. @defaultValue true */
  appendonly?: boolean;
  /** AOF fsync policy. @defaultValue 'everysec' */
  appendfsync?: 'always' | 'everysec' | 'no';
  /** Extra `redis-server` arguments, e.g. `['--maxmemory-policy', 'allkeys-lru']`. @defaultValue [] */
  extraArgs?: string[];
}

/** A running (or stopped) private Redis. */
export interface PrivateRedis {
  port: number;
  url: string;
  dir: string;
  /** True while the redis-server process runs. */
  isRunning(): boolean;
  /** Stops the server and waits for the process to exit. */
  stop(mode?: RedisStopMode): Promise<void>;
  /** Starts the server again on the same port and directory (it reloads its AOF) and waits until it answers. */
  start(): Promise<void>;
  /** stop + start. */
  restart(mode?: RedisStopMode): Promise<void>;
  /** Process id of the running redis-server (for /proc accounting), undefined while stopped. */
  pid(): number | undefined;
  /** The last lines of the server's log, for failure messages. */
  logTail(lines?: number): Promise<string>;
  /** Stops the server and deletes its directory. */
  close(): Promise<void>;
}

/** Every redis-server this process started and has not seen exit; killed when this process exits. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Finds a free TCP port on the loopback interface (bind port 0, read it, release it). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPing(
  url: string,
  child: ChildProcess,
  timeoutMs: number,
  spawnError: () => Error | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const error = spawnError();
    if (error) throw new Error(`could not start redis-server: ${error.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server exited during start (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    const probe = createRedis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 500,
      enableAutoPipelining: false,
    });
    probe.on('error', () => {});
    try {
      await probe.connect();
      // While it replays its AOF, Redis answers LOADING; wait for a real PONG.
      if ((await probe.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      probe.disconnect();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server on ${url} did not answer within ${timeoutMs} ms`);
}

/** Starts a private redis-server on a free port in a fresh temp directory and waits until it answers. */
export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lp-redis-'));
  const port = await findFreePort();
  if (port === 6379) throw new Error('refusing to run a private Redis on 6379');
  const url = `redis://127.0.0.1:${port}`;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    options.appendonly === false ? 'no' : 'yes',
    '--appendfsync',
    options.appendfsync ?? 'everysec',
    '--save',
    '',
    '--daemonize',
    'no',
    '--logfile',
    path.join(dir, 'redis.log'),
    '--maxmemory-policy',
    'noeviction',
    ...(options.extraArgs ?? []),
  ];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const isRunning = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const start = async () => {
    if (isRunning()) return;
    const started = spawn('redis-server', args, { stdio: 'ignore' });
    let spawnError: Error | undefined;
    started.once('error', (error) => (spawnError = error));
    child = started;
    running.add(started);
    exited = new Promise((resolve) =>
      started.once('exit', () => {
        running.delete(started);
        resolve();
      }),
    );
    await waitForPing(url, started, 20_000, () => spawnError);
  };
  const stop = async (mode: RedisStopMode = 'graceful') => {
    if (!child || !isRunning()) return;
    child.kill(mode === 'kill' ? 'SIGKILL' : 'SIGTERM');
    await exited;
  };
  const logTail = async (lines = 20) => {
    const text = await readFile(path.join(dir, 'redis.log'), 'utf8').catch(() => '');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  };

  try {
    await start();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    url,
    dir,
    isRunning,
    pid: () => (isRunning() ? child?.pid : undefined),
    stop,
    start,
    restart: async (mode) => {
      await stop(mode);
      await start();
    },
    logTail,
    close: async () => {
      await stop('kill');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
