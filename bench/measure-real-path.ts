/**
 * The real path, measured: subscribers seeded through the subscriber store, the digest sent with `sendDigest`, the
 * fan-out job and the delivery jobs run by K `letterpress worker` processes, the ledger settled, the sink counting.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { App } from '../src/app.js';
import type { Config } from '../src/config.js';
import { sendDigest } from '../src/delivery/send-digest.js';
import { waitForDigestSettled } from '../src/delivery/wait-for-digest.js';
import { QueueName } from '../src/queue/job-definitions.js';
import type { OursFigures } from './bench-report.js';
import { benchReaderEmail } from './bench-fixture.js';
import { figuresFrom, progressEvery } from './measure-baselines.js';
import { ProcessMonitor } from './process-stats.js';
import type { PrivateRedis } from '../src/private-redis.js';
import { stopChild } from './child-process-protocol.js';
import { repoRoot, waitForAcceptances, type SinkProcess } from './sink-process.js';
import { spawn, type ChildProcess } from 'node:child_process';

/** What the real-path run needs. */
export interface RealPathContext {
  app: App;
  config: Config;
  /** The environment each `letterpress worker` gets (REDIS_URL, prefix, SMTP_URL, pool size, secret, ...). */
  workerEnv: Record<string, string>;
  sink: SinkProcess;
  redis: PrivateRedis;
  digestId: string;
  newsletterId: string;
  subscribers: number;
  workers: number;
  connections: number;
  /** Folder for V8 CPU profiles of the workers, if profiling. */
  cpuProfDir: string | undefined;
  /** Node/V8 flags for the workers (NODE_OPTIONS), if any. */
  workerNodeOptions: string | undefined;
  progress: (line: string) => void;
}

/** Seeds readers 1..count as active subscribers of the newsletter, in pipelined chunks; returns the time taken. */
export async function seedSubscribers(
  app: Pick<App, 'subscribers'>,
  newsletterId: string,
  count: number,
  progress: (line: string) => void,
): Promise<number> {
  const started = Date.now();
  const chunk = 20_000;
  const report = progressEvery({ progress }, 'seeding subscribers', count);
  for (let start = 1; start <= count; start += chunk) {
    const end = Math.min(count, start + chunk - 1);
    const inputs = Array.from({ length: end - start + 1 }, (_, i) => ({
      email: benchReaderEmail(start + i),
      newsletterIds: [newsletterId],
      status: 'active' as const,
    }));
    await app.subscribers.addMany(inputs, { chunkSize: 2_000 });
    report(end);
  }
  return Date.now() - started;
}

/** Reads `used_memory` from INFO memory. */
async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  const match = /^used_memory:(\d+)/m.exec(info);
  return match ? Number(match[1]) : 0;
}

/** Spawns one `letterpress worker` process. */
export function spawnWorker(
  env: Record<string, string>,
  cpuProfDir: string | undefined,
  workerNodeOptions: string | undefined,
): ChildProcess {
  const nodeOptions = [process.env.NODE_OPTIONS, workerNodeOptions].filter(Boolean).join(' ');
  const nodeFlags = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
  const child = spawn(process.execPath, [...nodeFlags, 'bin/letterpress.js', 'worker'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

/** Waits until `count` workers listen on both the fan-out and the deliver queue. */
export async function waitForWorkers(
  redisUrl: string,
  prefix: string,
  count: number,
  children: ChildProcess[],
): Promise<void> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queues = [QueueName.fanout, QueueName.deliver].map((name) => new Queue(name, { connection, prefix }));
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const dead = children.find((c) => c.exitCode !== null || c.signalCode !== null);
      if (dead) throw new Error(`a letterpress worker exited at start (code ${dead.exitCode}); see its stderr above`);
      const counts = await Promise.all(queues.map((q) => q.getWorkersCount()));
      if (counts.every((n) => n >= count)) return;
      if (Date.now() > deadline) throw new Error(`only ${counts.join('/')} of ${count} workers came up within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await Promise.all(queues.map((q) => q.close()));
    connection.disconnect();
  }
}

/** Sends the digest through the real path and measures it. Seeding must be done. */
export async function measureRealPath(context: RealPathContext, seedMs: number): Promise<OursFigures> {
  const { app, sink, redis, digestId, subscribers, workers } = context;
  const children = Array.from({ length: workers }, () =>
    spawnWorker(context.workerEnv, context.cpuProfDir, context.workerNodeOptions),
  );
  try {
    await waitForWorkers(redis.url, app.keys.bullPrefix, workers, children);
    const monitor = new ProcessMonitor();
    children.forEach((child, i) => monitor.add(`worker-${i}`, child.pid ?? 0));
    monitor.add('redis', redis.pid() ?? 0);
    monitor.add('sink', sink.pid);

    const memoryProbe = new Redis(redis.url);
    const usedMemoryBeforeBytes = await usedMemory(memoryProbe);
    let usedMemoryPeakBytes = usedMemoryBeforeBytes;
    let fanOutMs: number | undefined;
    let pendingAtMeasure = 0;
    let bytesPerPendingRecipient = 0;

    // The privacy audit is once per digest, not per reader: it runs here, before the clock starts, and sendDigest
    // gets its answer, so fan-out time (projected linearly to a million readers) measures the fan-out alone.
    const auditStarted = Date.now();
    const digest = await app.digests.get(digestId);
    const audit = digest ? await app.checkBeforeSend(digest, { allowFindings: [] }) : undefined;
    if (!audit?.isPassed) throw new Error(audit?.reason ?? `no digest ${digestId}`);
    const auditMs = Date.now() - auditStarted;
    const sendDeps = {
      digests: app.digests,
      ledger: app.ledger,
      queues: app.queues,
      clock: app.clock,
      logger: app.logger,
      checkBeforeSend: async () => audit,
    };

    const t0 = Date.now();
    await sink.startPhase(t0);
    monitor.start();
    await sendDigest(sendDeps, { digestId });

    // Sample Redis memory and the digest's fan-out state while the sink fills up.
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const memory = await usedMemory(memoryProbe);
        if (memory > usedMemoryPeakBytes) usedMemoryPeakBytes = memory;
        if (fanOutMs === undefined) {
          const digest = await app.digests.get(digestId);
          if (digest?.fannedOutAt) {
            fanOutMs = Date.parse(digest.fannedOutAt) - t0;
            const settled = digest.counts.delivered + digest.counts.failed + digest.counts.skipped;
            pendingAtMeasure = Math.max(0, digest.counts.recipients - settled);
            bytesPerPendingRecipient =
              pendingAtMeasure > 0 ? Math.max(0, memory - usedMemoryBeforeBytes) / pendingAtMeasure : 0;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    try {
      await waitForAcceptances(sink, subscribers, {
        onProgress: progressEvery(context, 'real path', subscribers),
        stallMs: 120_000,
      });
    } finally {
      sampling = false;
      await sampler;
    }
    const settled = await waitForDigestSettled(app, digestId, { timeoutMs: 120_000 });
    const reports = monitor.stop();
    memoryProbe.disconnect();
    const summary = await sink.summary();
    const workerReports = reports.filter((r) => r.label.startsWith('worker-'));
    const base = figuresFrom(
      summary,
      {
        sendersCpuMs: workerReports.reduce((sum, r) => sum + r.cpuMs, 0),
        redisCpuMs: reports.find((r) => r.label === 'redis')?.cpuMs ?? 0,
        sinkCpuMs: reports.find((r) => r.label === 'sink')?.cpuMs ?? 0,
        senderRssPeakBytes: Math.max(0, ...workerReports.map((r) => r.peakRssBytes)),
      },
      { senderProcesses: workers, connections: context.config.smtp.poolSize * workers },
    );
    if (fanOutMs === undefined && settled.fannedOutAt) fanOutMs = Date.parse(settled.fannedOutAt) - t0;
    return {
      ...base,
      subscribers,
      seedMs,
      fanOutMs: fanOutMs ?? 0,
      auditMs,
      batchSize: context.config.delivery.batchSize,
      concurrency: context.config.delivery.concurrency,
      redis: { usedMemoryBeforeBytes, usedMemoryPeakBytes, bytesPerPendingRecipient, pendingAtMeasure },
      workerRssPeakBytesEach: workerReports.map((r) => r.peakRssBytes),
      ledger: { status: settled.status, ...settled.counts },
    };
  } finally {
    await Promise.all(children.map((child) => stopChild(child, 30_000)));
  }
}
