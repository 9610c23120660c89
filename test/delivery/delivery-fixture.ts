/**
 * A delivery test bench: the real app on its own Redis prefix, real BullMQ workers in this process, a real SMTP
 * server, and a digest made by the real digest code from a few articles.
 */
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Article } from '../../src/articles/article.js';
import { createApp, type App, type CreateAppOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDigest } from '../../src/digests/create-digest.js';
import type { Digest } from '../../src/digests/digest.js';
import type { DeliverBatchDeps, DeliverBatchLedger } from '../../src/delivery/deliver-batch.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import type { Mailer } from '../../src/smtp/mailer.js';
import { runWorkers, type RunningWorkers, type RunWorkersOptions } from '../../workers/run-workers.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';

/** Options of the bench. */
export interface DeliveryBenchOptions {
  smtpUrl: string;
  /** Extra environment (e.g. DELIVERY_BATCH_SIZE). */
  env?: Record<string, string>;
  mailer?: CreateAppOptions['mailer'];
  /** @defaultValue a silent logger */
  logger?: CreateAppOptions['logger'];
}

/** A running bench. */
export interface DeliveryBench {
  app: App;
  prefix: string;
  startWorkers(options?: RunWorkersOptions): Promise<RunningWorkers>;
  /** Adds `count` active readers of `daily`: reader-0@example.org, ... in id order (ids 1..count). */
  addReaders(count: number, domain?: string): Promise<{ id: number; email: string }[]>;
  /** Creates a ready digest of the given article titles. */
  createDigest(titles: string[]): Promise<Digest>;
  /** Waits until the fan-out and deliver queues hold no waiting, active or delayed job. */
  waitForQueuesIdle(): Promise<void>;
  close(): Promise<void>;
}

/** Job options that keep retries quick in tests. */
export const QUICK_JOB_OPTIONS: CreateAppOptions['jobOptions'] = {
  fanout: { attempts: 3, backoff: { type: 'fixed', delay: 20 } },
  deliver: { attempts: 6, backoff: { type: 'fixed', delay: 20 } },
};

/** Worker timings that keep hand-backs quick in tests. */
export const QUICK_WORKER_OPTIONS: RunWorkersOptions = {
  handleSignals: false,
  relayRetryBaseMs: 20,
  relayRetryMaxMs: 200,
  pausedRecheckMs: 200,
};

function article(title: string, index: number): Article {
  const id = createHash('sha256').update(title).digest('hex').slice(0, 32);
  return {
    id,
    url: `https://news.harbourgazette.example/${index}`,
    title,
    standfirst: `What happened: ${title.toLowerCase()}.`,
    authors: ['Staff reporter'],
    section: 'News',
    categories: ['News'],
    publishedAt: new Date(Date.UTC(2026, 10, 27, 6, index)).toISOString(),
    contentHtml: `<p>${title}</p>`,
    source: 'test',
    contentHash: id,
  };
}

/** Starts the bench: app on a fresh prefix, pointing at the given relay. */
export async function startDeliveryBench(options: DeliveryBenchOptions): Promise<DeliveryBench> {
  const opened = await openTestRedis('delivery');
  const config = loadConfig({
    REDIS_URL: TEST_REDIS_URL,
    LETTERPRESS_PREFIX: opened.prefix,
    SMTP_URL: options.smtpUrl,
    SMTP_POOL_SIZE: '4',
    SMTP_TIMEOUT_MS: '5000',
    DELIVERY_BATCH_SIZE: '50',
    DELIVERY_CONCURRENCY: '2',
    LOG_LEVEL: 'silent',
    ...options.env,
  });
  const app = await createApp(config, {
    logger: options.logger ?? silentLogger,
    mailer: options.mailer,
    jobOptions: QUICK_JOB_OPTIONS,
  });
  const running: RunningWorkers[] = [];
  return {
    app,
    prefix: opened.prefix,
    async startWorkers(workerOptions = {}) {
      const workers = await runWorkers(app, { ...QUICK_WORKER_OPTIONS, ...workerOptions });
      running.push(workers);
      return workers;
    },
    async addReaders(count, domain = 'example.org') {
      const readers = Array.from({ length: count }, (_, i) => ({
        email: `reader-${i}@${domain}`,
        newsletterIds: ['daily'],
        status: 'active' as const,
      }));
      await app.subscribers.addMany(readers);
      const ids = await Promise.all(readers.map((r) => app.subscribers.getByEmail(r.email)));
      return ids.map((s, i) => ({ id: s?.id ?? -1, email: readers[i]?.email ?? '' }));
    },
    async createDigest(titles) {
      const articles = titles.map(article);
      const newsletter = app.config.newsletters[0];
      if (!newsletter) throw new Error('no newsletter configured');
      return createDigest(
        {
          articles: { listPublishedSince: async () => articles },
          digests: app.digests,
          lastSentAt: async () => undefined,
          clock: () => new Date(),
        },
        // Chosen on purpose: each test's digest may carry the same articles as an earlier one.
        { newsletter, site: app.config.site, articles },
      );
    },
    async waitForQueuesIdle() {
      for (;;) {
        const counts = await Promise.all(
          [app.queues.queues.fanout, app.queues.queues.deliver].map((queue) =>
            queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
          ),
        );
        if (counts.every((c) => Object.values(c).every((n) => n === 0))) return;
        await sleep(25);
      }
    },
    async close() {
      await Promise.all(running.map((w) => w.close()));
      await app.close();
      await opened.cleanup();
    },
  };
}

/**
 * Readers 1..count and a digest already fanned out to them in one range (ids 1..count), as a delivery batch finds
 * it; returns the digest and the range's job payload.
 */
export async function digestInOneRange(bench: DeliveryBench, count: number) {
  await bench.addReaders(count);
  const digest = await bench.createDigest(['Harbour wall repairs begin in spring']);
  const { ledger } = bench.app;
  const now = new Date();
  await ledger.transition(digest.id, 'daily', { from: ['ready'], to: 'sending' }, now);
  await ledger.snapshotRecipients(digest.id, 'daily', count);
  await ledger.markFannedOut(digest.id, 'daily', now);
  return { digest, payload: { digestId: digest.id, fromId: 1, toId: count, deferrals: 0 } };
}

/** What a delivery batch needs, from the bench's app, with this mailer, ledger and number of lanes. */
export function batchDeps(
  bench: DeliveryBench,
  mailer: Mailer,
  options: { lanes: number; ledger?: DeliverBatchLedger },
): DeliverBatchDeps {
  const { app } = bench;
  return {
    digests: app.digests,
    templates: app.templates,
    ledger: options.ledger ?? app.ledger,
    subscribers: app.subscribers,
    mailer,
    clock: app.clock,
    logger: silentLogger,
    sendConcurrency: options.lanes,
    pauseAfterPermanentFailures: 50,
  };
}

/** A logger that keeps every line it writes (parsed JSON), to check what an operator would read. */
export function recordingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** The header block of a raw message, unfolded, as name (lower-case) → values. */
export function readHeaders(raw: Buffer): Map<string, string[]> {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const block = (end < 0 ? text : text.slice(0, end)).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string[]>();
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return headers;
}

/** How many times each address appears as an envelope recipient. */
export function countByRecipient(messages: { envelopeTo: string[] }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const message of messages) {
    for (const to of message.envelopeTo) counts.set(to.toLowerCase(), (counts.get(to.toLowerCase()) ?? 0) + 1);
  }
  return counts;
}
