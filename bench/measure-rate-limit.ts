/**
 * The rate-limit benchmark (`npm run bench -- --rate-limit 500`): K `letterpress worker` processes share
 * SEND_RATE_PER_SECOND through Redis and send one digest to rate × seconds readers; the counting sink (its own
 * process) keeps a 1 ms histogram of acceptances, from which each whole second after the first acceptance is counted
 * and compared with the rate, along with the busiest 1-second window wherever it starts. Goal: every second within
 * ±5 % of the rate.
 */
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { ingestSources } from '../src/articles/ingest-sources.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createDigest } from '../src/digests/create-digest.js';
import { sendDigest } from '../src/delivery/send-digest.js';
import { waitForDigestSettled } from '../src/delivery/wait-for-digest.js';
import { createLogger } from '../src/logger.js';
import { startPrivateRedis } from '../src/private-redis.js';
import type { RateLimitReport } from './bench-report.js';
import { stopChild } from './child-process-protocol.js';
import { progressEvery } from './measure-baselines.js';
import { seedSubscribers, spawnWorker, waitForWorkers } from './measure-real-path.js';
import { repoRoot, startSinkProcess, waitForAcceptances } from './sink-process.js';

/** Options of the rate-limit benchmark. */
export interface RateLimitBenchOptions {
  /** SEND_RATE_PER_SECOND. */
  perSecond: number;
  /** How long the send should last at that rate (readers = rate × seconds). */
  seconds: number;
  /** `letterpress worker` processes. */
  workers: number;
  /** SMTP connections in total, split across the workers. */
  connections: number;
  /** DELIVERY_BATCH_SIZE; unset: the app's default. */
  batchSize?: number;
  progress?: (line: string) => void;
}

/** Runs the rate-limit benchmark and returns its report. */
export async function runRateLimitBench(options: RateLimitBenchOptions): Promise<RateLimitReport> {
  const progress = options.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const startedAt = new Date();
  const loadAverageAtStart = loadavg();
  const readers = Math.round(options.perSecond * options.seconds);
  const cleanups: (() => Promise<void>)[] = [];
  try {
    progress('starting a private Redis and the SMTP sink');
    const redis = await startPrivateRedis({ appendonly: false });
    cleanups.unshift(() => redis.close());
    const sink = await startSinkProcess();
    cleanups.unshift(() => sink.stop());
    const perWorkerConnections = Math.max(1, Math.floor(options.connections / options.workers));
    const workerEnv: Record<string, string> = {
      REDIS_URL: redis.url,
      LETTERPRESS_PREFIX: 'bench-rate',
      SMTP_URL: sink.smtpUrl,
      SMTP_POOL_SIZE: String(perWorkerConnections),
      SEND_RATE_PER_SECOND: String(options.perSecond),
      LETTERPRESS_SECRET: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'warn',
      NODE_ENV: 'development',
      ...(options.batchSize ? { DELIVERY_BATCH_SIZE: String(options.batchSize) } : {}),
    };
    const config = loadConfig(workerEnv);
    const app = await createApp(config, { logger: createLogger('error', 'letterpress-bench') });
    cleanups.unshift(() => app.close());

    progress('ingesting the sample feed and building the digest');
    await ingestSources(
      {
        store: app.articles,
        logger: app.logger,
        maxBytes: config.feed.maxBytes,
        fetchTimeoutMs: config.feed.fetchTimeoutMs,
        allowPrivateAddresses: config.feed.allowPrivateAddresses,
        allowFilePaths: true,
      },
      [join(repoRoot, 'src/demo/sample-feed.xml')],
    );
    const newsletter = config.newsletters[0];
    if (!newsletter) throw new Error('no newsletter configured');
    const digest = await createDigest(
      { articles: app.articles, digests: app.digests, lastSentAt: (id) => app.lastSentAt(id), clock: () => new Date() },
      { newsletter, site: config.site },
    );
    progress(`seeding ${readers.toLocaleString('en-US')} subscribers`);
    await seedSubscribers(app, newsletter.id, readers, progress);

    progress(`${options.workers} workers at ${options.perSecond} messages/s for about ${options.seconds} s`);
    const children: ChildProcess[] = Array.from({ length: options.workers }, () =>
      spawnWorker(workerEnv, undefined, undefined),
    );
    cleanups.unshift(async () => {
      await Promise.all(children.map((child) => stopChild(child, 30_000)));
    });
    await waitForWorkers(redis.url, app.keys.bullPrefix, options.workers, children);
    // The privacy audit runs once, before the clock starts.
    const audit = await app.checkBeforeSend(digest, { allowFindings: [] });
    if (!audit.isPassed) throw new Error(audit.reason ?? 'the digest did not pass its audit');
    await sink.startPhase(Date.now());
    const sendDeps = {
      digests: app.digests,
      ledger: app.ledger,
      queues: app.queues,
      clock: app.clock,
      logger: app.logger,
      checkBeforeSend: async () => audit,
    };
    await sendDigest(sendDeps, { digestId: digest.id });
    await waitForAcceptances(sink, readers, {
      onProgress: progressEvery({ progress }, 'rate-limited send', readers),
      stallMs: 120_000,
    });
    const settled = await waitForDigestSettled(app, digest.id, { timeoutMs: 120_000 });
    const [windows, summary] = await Promise.all([sink.rateWindows(options.perSecond), sink.summary()]);
    return {
      kind: 'letterpress-rate-bench',
      startedAt: startedAt.toISOString(),
      machine: { cpus: cpus().length, loadAverageAtStart, loadAverageAtEnd: loadavg() },
      options: {
        perSecond: options.perSecond,
        seconds: options.seconds,
        workers: options.workers,
        connections: perWorkerConnections * options.workers,
        batchSize: config.delivery.batchSize,
      },
      readers,
      accepted: summary.accepted,
      duplicates: summary.duplicates,
      ledger: { status: settled.status, ...settled.counts },
      windows,
      isWithinGoal: windows.maxDeviation <= 0.05,
    };
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}
