/**
 * Redis as it runs on many machines, started for one test: a Redis Cluster of three primaries, or a primary with a
 * sentinel watching it. Each server is a private redis-server (its own free port and temp directory, never 6379);
 * `close()` kills them all and removes their directories.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findFreePort, startPrivateRedis, type PrivateRedis } from '../../src/private-redis.js';
import { createRedis, type HostPort, type RedisTarget } from '../../src/redis.js';
import { waitUntil } from './wait-until.js';

const run = promisify(execFile);

/** A running Redis Cluster. */
export interface TestRedisCluster {
  nodes: HostPort[];
  target: Extract<RedisTarget, { kind: 'cluster' }>;
  servers: PrivateRedis[];
  close(): Promise<void>;
}

/**
 * Starts `primaries` cluster-enabled servers, joins them with `redis-cli --cluster create` and waits for state ok.
 * With `password`, every node then requires it (`requirepass`, and `masterauth` for the replication links).
 */
export async function startRedisCluster(primaries = 3, options: { password?: string } = {}): Promise<TestRedisCluster> {
  const servers: PrivateRedis[] = [];
  const close = async () => {
    await Promise.all(servers.map((server) => server.close()));
  };
  try {
    for (let index = 0; index < primaries; index += 1) {
      servers.push(
        await startPrivateRedis({
          appendonly: false,
          // nodes.conf is written in the server's own directory (its --dir).
          extraArgs: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            '5000',
          ],
        }),
      );
    }
    const nodes = servers.map((server) => ({ host: '127.0.0.1', port: server.port }));
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((node) => `${node.host}:${node.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (const server of servers) {
      await waitUntil(
        `cluster_state:ok on ${server.port}`,
        async () => {
          const probe = createRedis(server.url, {
            lazyConnect: true,
            retryStrategy: () => null,
            maxRetriesPerRequest: 0,
          });
          probe.on('error', () => {});
          try {
            await probe.connect();
            return /cluster_state:ok/.test(String(await probe.cluster('INFO')));
          } finally {
            probe.disconnect();
          }
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
    }
    if (options.password) {
      for (const server of servers) {
        const admin = createRedis(server.url);
        await admin.config('SET', 'masterauth', options.password);
        await admin.config('SET', 'requirepass', options.password);
        admin.disconnect();
      }
    }
    const password = options.password ? { password: options.password } : {};
    return { nodes, target: { kind: 'cluster', nodes, isTls: false, ...password }, servers, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** A running primary watched by one sentinel. */
export interface TestRedisSentinel {
  primary: PrivateRedis;
  /** The primary's replica, when started `withReplica`. */
  replica: PrivateRedis | undefined;
  sentinel: HostPort;
  /** The name the sentinel monitors the primary under. */
  name: string;
  target: Extract<RedisTarget, { kind: 'sentinel' }>;
  close(): Promise<void>;
}

/**
 * Starts a primary and one sentinel monitoring it (quorum 1), and waits until the sentinel names the primary. With
 * `withReplica`, a replica of the primary too, and waits until the sentinel knows it (so it can fail over to it).
 */
export async function startRedisSentinel(
  name = 'lp-primary',
  options: {
    withReplica?: boolean;
    /** A password on the primary (`requirepass`) and one on the sentinel itself. */
    passwords?: { primary: string; sentinel: string };
  } = {},
): Promise<TestRedisSentinel> {
  // A replica's first full sync starts at once rather than after Redis's default 5 s wait for more replicas.
  const primary = await startPrivateRedis({ appendonly: false, extraArgs: ['--repl-diskless-sync-delay', '0'] });
  const passwords = options.passwords;
  if (passwords) {
    // Set once it answers: the private server's start-up probe has no password.
    const admin = createRedis(primary.url);
    await admin.config('SET', 'requirepass', passwords.primary);
    admin.disconnect();
  }
  const replica = options.withReplica
    ? await startPrivateRedis({
        appendonly: false,
        extraArgs: ['--replicaof', '127.0.0.1', String(primary.port)],
      }).catch(async (error: unknown) => {
        await primary.close();
        throw error;
      })
    : undefined;
  const dir = await mkdtemp(path.join(tmpdir(), 'lp-sentinel-'));
  if (replica) {
    await waitUntil(
      `the replica on ${replica.port} to be in sync`,
      async () => {
        const probe = createRedis(replica.url, {
          lazyConnect: true,
          retryStrategy: () => null,
          maxRetriesPerRequest: 0,
        });
        probe.on('error', () => {});
        try {
          await probe.connect();
          return /master_link_status:up/.test(await probe.info('replication'));
        } catch {
          return false;
        } finally {
          probe.disconnect();
        }
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    ).catch(async (error: unknown) => {
      await replica.close();
      await primary.close();
      throw error;
    });
  }
  let child: ChildProcess | undefined;
  const close = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    await replica?.close();
    await primary.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const port = await findFreePort();
    if (port === 6379 || port === 26379) throw new Error(`refusing to run a test sentinel on ${port}`);
    const configFile = path.join(dir, 'sentinel.conf');
    await writeFile(
      configFile,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `logfile ${path.join(dir, 'sentinel.log')}`,
        `sentinel monitor ${name} 127.0.0.1 ${primary.port} 1`,
        `sentinel down-after-milliseconds ${name} 2000`,
        `sentinel failover-timeout ${name} 10000`,
        ...(passwords ? [`requirepass ${passwords.sentinel}`, `sentinel auth-pass ${name} ${passwords.primary}`] : []),
        '',
      ].join('\n'),
    );
    const started = spawn('redis-server', [configFile, '--sentinel'], { stdio: 'ignore' });
    child = started;
    // A test process that dies leaves no sentinel behind.
    const killOnExit = () => started.kill('SIGKILL');
    process.once('exit', killOnExit);
    started.once('exit', () => process.off('exit', killOnExit));
    const sentinel = { host: '127.0.0.1', port };
    await waitUntil(
      `the sentinel on ${port} to name ${name}`,
      async () => {
        const credentials = passwords ? `:${passwords.sentinel}@` : '';
        const probe = createRedis(`redis://${credentials}127.0.0.1:${port}`, {
          lazyConnect: true,
          retryStrategy: () => null,
          maxRetriesPerRequest: 0,
          enableReadyCheck: false,
        });
        probe.on('error', () => {});
        try {
          await probe.connect();
          const reply = (await probe.call('SENTINEL', 'get-master-addr-by-name', name)) as string[] | null;
          if (reply?.[1] !== String(primary.port)) return false;
          if (!replica) return true;
          const replicas = JSON.stringify(await probe.call('SENTINEL', 'replicas', name));
          return replicas.includes(String(replica.port)) && !replicas.includes('s_down');
        } catch {
          return false;
        } finally {
          probe.disconnect();
        }
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    return {
      primary,
      replica,
      sentinel,
      name,
      target: {
        kind: 'sentinel',
        sentinels: [sentinel],
        name,
        isTls: false,
        ...(passwords ? { password: passwords.primary, sentinelPassword: passwords.sentinel } : {}),
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
