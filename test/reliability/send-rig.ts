/**
 * The rig every reliability scenario stands on: a Redis (the shared one under a fresh prefix, or a private one that
 * may be restarted), a fault-injecting relay (in this process or its own), N subscribers, one frozen digest, and
 * `letterpress worker` processes started from the real CLI. The controller side uses the real app for sending and
 * observing; the verdict reads the relay's records and the ledger's bitmaps directly.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { ArticleSchema, type Article } from '../../src/articles/article.js';
import { createApp, type App } from '../../src/app.js';
import { findNewsletter, loadConfig, type Config } from '../../src/config.js';
import { sendDigest } from '../../src/delivery/send-digest.js';
import { createDigest } from '../../src/digests/create-digest.js';
import type { Digest } from '../../src/digests/digest.js';
import { silentLogger } from '../../src/logger.js';
import { deletePrefix } from '../../src/redis.js';
import {
  controlLocalRelay,
  isPermanentlyRefused,
  startFaultySmtp,
  startFaultySmtpProcess,
  type FaultPlanInput,
  type FaultySmtpSnapshot,
  type RelayControl,
} from '../helpers/faulty-smtp.js';
import { startPrivateRedis, type PrivateRedis } from '../../src/private-redis.js';
import { spawnWorker, type LetterpressProcess } from '../helpers/processes.js';
import { sleep } from '../helpers/wait-until.js';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { auditDelivery, type DeliveryAudit } from './audit-delivery.js';

/** How big a rig is and how its processes are tuned. */
export interface RigOptions {
  /** Names the key prefix. */
  label: string;
  recipients: number;
  /** A private redis-server (AOF, everysec) that the scenario may restart, instead of the shared one. @defaultValue false */
  usePrivateRedis?: boolean;
  /** Run the relay in a process of its own (chaos runs) instead of in this one. @defaultValue false */
  relayInOwnProcess?: boolean;
  /** The relay's faults from the start. @defaultValue none */
  plan?: FaultPlanInput;
  /** DELIVERY_BATCH_SIZE. */
  batchSize: number;
  /** DELIVERY_CONCURRENCY of each worker process. */
  concurrency: number;
  /** SMTP_POOL_SIZE of each worker process (also its messages in flight per batch). */
  poolSize: number;
  /** SMTP_TIMEOUT_MS. */
  smtpTimeoutMs: number;
  /** SMTP_FINAL_DOT_TIMEOUT_MS. @defaultValue the production default */
  finalDotTimeoutMs?: number;
  /** Copy the workers' logs to this process's stderr. @defaultValue false */
  echoWorkerLogs?: boolean;
  /** More environment for every worker (and the controller's config), e.g. SEND_RATE_PER_SECOND. @defaultValue {} */
  extraEnv?: Record<string, string>;
}

/** A subscriber of the rig. */
export interface RigRecipient {
  id: number;
  email: string;
}

/** The end of a send: the digest when it was first seen settled, and what the relay had then. */
export interface SettleObservation {
  digest: Digest | undefined;
  /** True when the digest reached `sent` before the deadline. */
  isSent: boolean;
  /** The relay's records at the instant `sent` was first seen (undefined when it never was). */
  atSent: FaultySmtpSnapshot | undefined;
  seconds: number;
}

/** A running rig. */
export interface SendRig {
  options: RigOptions;
  config: Config;
  /** The controller's app (sending, observing); workers run in their own processes. */
  app: App;
  redis: Redis;
  relay: RelayControl;
  privateRedis: PrivateRedis | undefined;
  digest: Digest;
  recipients: RigRecipient[];
  /** The environment a worker process gets. */
  workerEnv: Record<string, string>;
  /** Worker processes started by the rig, live or exited. */
  workers: LetterpressProcess[];
  /** Starts one more `letterpress worker` process, with `env` over the rig's worker environment. */
  startWorker(env?: Record<string, string>): LetterpressProcess;
  /**
   * Starts `count` worker processes (the i-th, from 0, with `envFor(i)` over the rig's worker environment) and waits
   * until every live one is connected to the delivery queue.
   */
  startWorkers(count: number, envFor?: (index: number) => Record<string, string>): Promise<void>;
  /** `digest send` through the use case, as the CLI does it. */
  send(): Promise<void>;
  /** Polls the digest until it is `sent` (or paused/cancelled, or the deadline), running `during` meanwhile. */
  waitForSent(options: {
    timeoutMs: number;
    during?: (signal: AbortSignal) => Promise<void>;
  }): Promise<SettleObservation>;
  /** Stops every live worker (SIGTERM, then SIGKILL after the grace) and reads the relay, ledger and digest. */
  audit(extra?: {
    removed?: Set<string>;
    removedInFlight?: Set<string>;
    atSent?: FaultySmtpSnapshot;
    killedAt?: number[];
  }): Promise<DeliveryAudit>;
  /** The addresses the relay refuses permanently under the rig's plan. */
  permanentlyRefused(): Set<string>;
  close(): Promise<void>;
}

/** At least 32 characters; only for tests. */
const TEST_SECRET = 'reliability-scenarios-secret-0123456789abcdef';

/** A few fixed articles, so the rig depends on the digest code and not on feed parsing. */
export function rigArticles(count = 3): Article[] {
  return Array.from({ length: count }, (_, index) =>
    ArticleSchema.parse({
      id: createHash('sha256').update(`rig-article-${index}`).digest('hex').slice(0, 32),
      url: `https://news.harbourgazette.example/2026/11/story-${index + 1}`,
      title: `Harbour council votes on the new ferry timetable, part ${index + 1}`,
      standfirst: 'Councillors met late into the evening to settle the winter crossings.',
      authors: ['Mara Quill'],
      section: index % 2 === 0 ? 'News' : 'Community',
      publishedAt: new Date(Date.UTC(2026, 10, 26, 6 + index)).toISOString(),
      contentHtml: '<p>The ferry will run every forty minutes from December.</p>',
      source: 'reliability-rig',
      contentHash: createHash('sha256').update(`rig-content-${index}`).digest('hex'),
    }),
  );
}

/** The address of rig subscriber number `index` (1-based). */
export function rigEmail(index: number): string {
  return `reader-${index}@readers.example.test`;
}

/** Reads a Redis bitmap into the set of ids whose bit is set (decoded here, not by the ledger code under test). */
export function bitmapIds(bitmap: Buffer | null): Set<number> {
  const ids = new Set<number>();
  if (!bitmap) return ids;
  for (let byteIndex = 0; byteIndex < bitmap.length; byteIndex++) {
    const byte = bitmap[byteIndex] ?? 0;
    if (byte === 0) continue;
    for (let bit = 0; bit < 8; bit++) if (byte & (0x80 >> bit)) ids.add(byteIndex * 8 + bit);
  }
  return ids;
}

/** Builds a rig: Redis, relay, subscribers and a `ready` digest. Workers are started by the scenario. */
export async function openSendRig(options: RigOptions): Promise<SendRig> {
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const privateRedis = options.usePrivateRedis ? await startPrivateRedis() : undefined;
    if (privateRedis) cleanups.push(() => privateRedis.close());
    const relay = options.relayInOwnProcess
      ? await startFaultySmtpProcess({ plan: options.plan })
      : controlLocalRelay(await startFaultySmtp({ plan: options.plan }));
    cleanups.push(() => relay.close());
    const prefix = uniquePrefix(`rel-${options.label}`);
    const redisUrl = privateRedis?.url ?? TEST_REDIS_URL;
    const workerEnv: Record<string, string> = {
      REDIS_URL: redisUrl,
      LETTERPRESS_PREFIX: prefix,
      SMTP_URL: relay.url,
      SMTP_TIMEOUT_MS: String(options.smtpTimeoutMs),
      ...(options.finalDotTimeoutMs ? { SMTP_FINAL_DOT_TIMEOUT_MS: String(options.finalDotTimeoutMs) } : {}),
      SMTP_POOL_SIZE: String(options.poolSize),
      DELIVERY_BATCH_SIZE: String(options.batchSize),
      DELIVERY_CONCURRENCY: String(options.concurrency),
      LETTERPRESS_SECRET: TEST_SECRET,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'test',
      ...options.extraEnv,
    };
    const config = loadConfig(workerEnv);
    const app = await createApp(config, { logger: silentLogger });
    if (!(app.redis instanceof Redis)) throw new Error('the send rig runs on one Redis, not a Cluster');
    const redis = app.redis;
    cleanups.push(async () => {
      await deletePrefix(app.redis, prefix).catch(() => undefined);
      await app.close();
    });

    await app.subscribers.addMany(
      Array.from({ length: options.recipients }, (_, i) => ({
        email: rigEmail(i + 1),
        newsletterIds: ['daily'],
        status: 'active' as const,
      })),
    );
    const ids = Array.from({ length: options.recipients }, (_, i) => i + 1);
    const emails = await app.subscribers.getEmails(ids);
    const recipients = ids.map((id) => ({ id, email: emails.get(id) ?? '' }));
    if (recipients.some((r) => r.email === ''))
      throw new Error('the rig expected subscriber ids 1..N in a fresh prefix');
    const articles = rigArticles();
    const digest = await createDigest(
      {
        articles: { listPublishedSince: async () => articles },
        digests: app.digests,
        lastSentAt: async () => undefined,
        clock: () => new Date(),
      },
      { newsletter: findNewsletter(config, 'daily'), site: config.site },
    );

    const workers: LetterpressProcess[] = [];
    cleanups.push(async () => {
      await Promise.all(workers.map((worker) => worker.stop('SIGKILL', 5_000)));
    });

    const readFacts = async () => {
      const [sent, failed, skipped, suppressed, stored] = await Promise.all([
        app.redis.getBuffer(app.keys.digestSent(digest.id)),
        app.redis.getBuffer(app.keys.digestFailed(digest.id)),
        app.redis.getBuffer(app.keys.digestSkipped(digest.id)),
        app.subscribers.suppressedAmong(recipients.map((r) => r.email)),
        app.digests.get(digest.id),
      ]);
      return {
        ledger: { sent: bitmapIds(sent), failed: bitmapIds(failed), skipped: bitmapIds(skipped) },
        suppressed,
        digest: stored,
      };
    };
    const permanentlyRefused = () => {
      const share = options.plan?.permanentShare ?? 0;
      const seed = options.plan?.seed ?? 1;
      return new Set(
        recipients.map((r) => r.email.toLowerCase()).filter((email) => isPermanentlyRefused(email, share, seed)),
      );
    };

    const rig: SendRig = {
      options,
      config,
      app,
      redis,
      relay,
      privateRedis,
      digest,
      recipients,
      workerEnv,
      workers,
      startWorker(env = {}) {
        const worker = spawnWorker({ env: { ...workerEnv, ...env }, echo: options.echoWorkerLogs });
        workers.push(worker);
        return worker;
      },
      async startWorkers(count, envFor) {
        for (let i = 0; i < count; i++) rig.startWorker(envFor?.(i));
        const deadline = Date.now() + 60_000;
        for (;;) {
          const live = workers.filter((worker) => worker.isRunning());
          if (live.length === 0) {
            throw new Error(`every worker exited before connecting:\n${workers.at(-1)?.stderr().slice(-2_000)}`);
          }
          const connected = await app.queues.queues.deliver.getWorkersCount();
          if (connected >= live.length) return;
          if (Date.now() > deadline)
            throw new Error(`only ${connected} of ${live.length} workers connected within 60 s`);
          await sleep(100);
        }
      },
      async send() {
        await sendDigest(app, { digestId: digest.id });
      },
      async waitForSent({ timeoutMs, during }) {
        const started = Date.now();
        const controller = new AbortController();
        const chaos = during ? during(controller.signal).catch((error: unknown) => error) : Promise.resolve(undefined);
        let current: Digest | undefined;
        let atSent: FaultySmtpSnapshot | undefined;
        try {
          while (Date.now() - started < timeoutMs) {
            current = await app.digests.get(digest.id).catch(() => current);
            if (current && current.status !== 'sending' && current.status !== 'ready') break;
            await sleep(100);
          }
          if (current?.status === 'sent') atSent = await relay.snapshot();
        } finally {
          controller.abort();
        }
        const chaosError = await chaos;
        if (chaosError) throw chaosError;
        return { digest: current, isSent: current?.status === 'sent', atSent, seconds: (Date.now() - started) / 1000 };
      },
      async audit(extra = {}) {
        await Promise.all(workers.map((worker) => worker.stop('SIGTERM', 30_000)));
        const [snapshot, facts] = await Promise.all([relay.snapshot(), readFacts()]);
        const audit = auditDelivery({
          recipients,
          removed: extra.removed ?? new Set(),
          removedInFlight: extra.removedInFlight,
          killedAt: extra.killedAt,
          permanentlyRefused: permanentlyRefused(),
          accepted: snapshot.accepted,
          ...facts,
        });
        if (extra.atSent) {
          const late = snapshot.accepted.length - extra.atSent.accepted.length;
          if (late > 0) audit.problems.push(`${late} message(s) were accepted after the digest was marked sent`);
          const reachedAtSent = new Set(extra.atSent.accepted.map((record) => record.recipient));
          const refused = permanentlyRefused();
          const pendingAtSent = recipients.filter(({ email }) => {
            const address = email.toLowerCase();
            if (refused.has(address) || extra.removed?.has(address) || extra.removedInFlight?.has(address))
              return false;
            return !reachedAtSent.has(address);
          }).length;
          if (pendingAtSent > 0) {
            audit.problems.push(
              `the digest was marked sent while ${pendingAtSent} recipient(s) had not been delivered`,
            );
          }
        }
        return audit;
      },
      permanentlyRefused,
      async close() {
        while (cleanups.length > 0)
          await cleanups
            .pop()?.()
            .catch(() => undefined);
      },
    };
    return rig;
  } catch (error) {
    while (cleanups.length > 0)
      await cleanups
        .pop()?.()
        .catch(() => undefined);
    throw error;
  }
}
