/**
 * The composition root: every dependency is built here, once, by its own `initX()`, and handed to the use cases as
 * plain objects. The CLI, the HTTP server, the workers, the demo and the benchmark all start from `createApp`.
 */
import type { JobsOptions } from 'bullmq';
import { RedisArticleStore } from './articles/article-store.js';
import { findNewsletter, type Config } from './config.js';
import type { Digest, DigestBody } from './digests/digest.js';
import {
  guardedImageFetch,
  freezeDigestImages,
  type FreezeDigestImagesInput,
  type FrozenDigestImages,
} from './digests/freeze-digest-images.js';
import { readInlineImageBytes, RedisImageStore } from './digests/image-store.js';
import type { PreSendCheck } from './delivery/send-digest.js';
import { prepareDigestMessage, type DigestMessageTemplate } from './mail/compose-message.js';
import { RedisAuditStore } from './privacy/audit-store.js';
import { RedisDeliveryLedger } from './delivery/delivery-ledger.js';
import { createDeliveryQueues, type DeliveryQueues } from './queue/queues.js';
import type { JobName } from './queue/job-definitions.js';
import { createMessageTemplateCache, type MessageTemplateCache } from './delivery/message-template-cache.js';
import type { ClosableMailer, Mailer } from './smtp/mailer.js';
import { createMailerFromConfig } from './smtp/smtp-mailer.js';
import { RedisDigestStore } from './digests/digest-store.js';
import { RedisFeedStateStore } from './feeds/feed-state-store.js';
import { RedisScheduleRunStore } from './newsletters/schedule-run-store.js';
import { createLogger, type Logger } from './logger.js';
import {
  assertRedisReachable,
  checkRedisConfiguration,
  createRedis,
  failFastWhileRedisIsAway,
  redisKeys,
  type RedisKeys,
  type RedisClient,
} from './redis.js';
import { RedisSubscriberStore } from './subscribers/subscriber-store.js';
import { subscriberLinks, type SubscriberLinks } from './subscribers/tokens.js';
import { createRateLimiter, hashKey, type RateLimiter } from './http/rate-limit.js';
import { RELAY_UNAVAILABLE_STREAK } from './delivery/deliver-batch.js';
import { RedisMetricsStore } from './ops/metrics-store.js';
import { createMeasuredMailer, createSendTelemetry, type SendTelemetry } from './ops/send-telemetry.js';
import { listRelays } from './smtp/relay-list.js';
import { RedisWorkerHeartbeats } from './ops/worker-heartbeats.js';
import { RedisSendRateStore } from './delivery/send-rate-store.js';

/** Everything a process needs, built once. */
export interface App {
  config: Config;
  /** The application's connection (auto-pipelined): stores and ledger. */
  redis: RedisClient;
  keys: RedisKeys;
  logger: Logger;
  clock: () => Date;
  articles: RedisArticleStore;
  subscribers: RedisSubscriberStore;
  digests: RedisDigestStore;
  ledger: RedisDeliveryLedger;
  /** Frozen images of embedded digests, by content hash. */
  images: RedisImageStore;
  /** Each digest's latest privacy audit (the stored-result getter is `audits.get(digestId)`). */
  audits: RedisAuditStore;
  /** Each configured feed's polling state. */
  feeds: RedisFeedStateStore;
  /** Each newsletter schedule's last run. */
  scheduleRuns: RedisScheduleRunStore;
  /** Counters shared by every process through Redis (delivery totals, send latency, feeds): what /metrics reads. */
  metrics: RedisMetricsStore;
  /** Worker heartbeats. */
  heartbeats: RedisWorkerHeartbeats;
  /** The send-rate limit every worker shares (SEND_RATE_PER_SECOND, overridden by `letterpress rate set`). */
  sendRate: RedisSendRateStore;
  /** What this process observed of its own sends since its last heartbeat (the mailer feeds it). */
  sendTelemetry: SendTelemetry;
  /** The BullMQ queues on their own connection. */
  queues: DeliveryQueues;
  /** Prepared digest messages, one per digest per process. */
  templates: MessageTemplateCache;
  /** The rate limits of the reader's side (sign-up form, confirmation emails), shared by every process in Redis. */
  readerLimits: ReaderLimits;
  /** The SMTP mailer, created on first use (only worker processes send); every send is measured. */
  readonly mailer: Mailer;
  /** The cut-off of the newsletter's last finished digest: the next digest takes articles published after it. */
  lastSentAt(newsletterId: string): Promise<Date | undefined>;
  /** Builds a digest's message (MIME once, with its embedded images): what the workers send and the audit reads. */
  prepareMessage(digest: Digest, body: DigestBody): Promise<DigestMessageTemplate>;
  /** A reader's personal unsubscribe and preferences links. */
  linksFor(claim: { subscriberId: number; newsletterId: string }): SubscriberLinks;
  /** Applies a newsletter's image policy when a digest is frozen (`createDigest`'s `freezeImages`). */
  freezeImages(input: FreezeDigestImagesInput): Promise<FrozenDigestImages>;
  /** The privacy audit before a digest's first send (`sendDigest`'s pre-send check). */
  checkBeforeSend: PreSendCheck;
  /** Closes the queues, the mailer and both Redis connections. Safe to call twice. */
  close(): Promise<void>;
}

/** Rate limits that protect readers and the sign-up form; each counts per client address or per email address. */
export interface ReaderLimits {
  /** Sign-up requests per client address and hour (SUBSCRIBE_RATE_PER_IP). */
  subscribePerIp: RateLimiter;
  /** Sign-up requests per email address and hour, from anywhere (SUBSCRIBE_RATE_PER_ADDRESS). */
  subscribePerAddress: RateLimiter;
  /** Confirmation emails: one per address per ten minutes. */
  confirmationResend: RateLimiter;
  /** The limiters keyed by an email address, which erasing an address clears. */
  readonly byAddress: RateLimiter[];
  /** The key of an email address in these limiters: a keyed hash, so no address is stored in clear. */
  addressKey(email: string): string;
}

/** Options for `createApp`. */
export interface CreateAppOptions {
  /** @defaultValue a JSON logger on stderr at `config.logLevel` */
  logger?: Logger;
  /** A mailer to use instead of SMTP (tests inject faults through it); the caller closes it. */
  mailer?: Mailer;
  /** Overrides of the job registry's default options (tests shorten backoffs). @defaultValue {} */
  jobOptions?: Partial<Record<JobName, JobsOptions>>;
  /** @defaultValue () => new Date() */
  clock?: () => Date;
  /**
   * For processes that answer people (`serve`): once connected, Redis commands fail at once while Redis is away and
   * after this many milliseconds when it does not answer, so a page says "try again" instead of hanging. Unset
   * (workers, CLI): commands wait for Redis to come back. @defaultValue undefined
   */
  redisCommandTimeoutMs?: number;
}

function initLogger(config: Config, options: CreateAppOptions): Logger {
  return options.logger ?? createLogger(config.logLevel);
}

async function initRedis(
  config: Config,
  logger: Logger,
  options: CreateAppOptions,
): Promise<{ redis: RedisClient; queueRedis: RedisClient }> {
  // Fail fast with a clear message instead of queueing commands forever against a Redis that is not there.
  await assertRedisReachable(config.redis);
  const redis = createRedis(config.redis);
  const queueRedis = createRedis(config.redis, { enableAutoPipelining: false });
  for (const connection of [redis, queueRedis]) {
    connection.on('error', (error: Error) => logger.warn({ err: error.message }, 'redis connection error'));
  }
  try {
    await checkRedisConfiguration(redis, { requirePersistence: config.requireRedisPersistence, logger });
    if (options.redisCommandTimeoutMs !== undefined) {
      await queueRedis.ping();
      for (const connection of [redis, queueRedis]) {
        failFastWhileRedisIsAway(connection, options.redisCommandTimeoutMs);
      }
    }
  } catch (error) {
    redis.disconnect();
    queueRedis.disconnect();
    throw error;
  }
  return { redis, queueRedis };
}

function initStores(redis: RedisClient, keys: RedisKeys, config: Config, clock: () => Date) {
  return {
    articles: new RedisArticleStore(redis, keys),
    subscribers: new RedisSubscriberStore(redis, keys, { clock, suppressionKey: config.suppressionKey }),
    digests: new RedisDigestStore(redis, keys),
    ledger: new RedisDeliveryLedger(redis, keys),
    images: new RedisImageStore(redis, keys),
    audits: new RedisAuditStore(redis, keys),
    feeds: new RedisFeedStateStore(redis, keys),
    scheduleRuns: new RedisScheduleRunStore(redis, keys),
    metrics: new RedisMetricsStore(redis, keys),
    heartbeats: new RedisWorkerHeartbeats(redis, keys),
    sendRate: new RedisSendRateStore(redis, keys, { defaultPerSecond: config.sendRate.perSecond }),
  };
}

function initQueues(queueRedis: RedisClient, keys: RedisKeys, options: CreateAppOptions): DeliveryQueues {
  return createDeliveryQueues({ connection: queueRedis, prefix: keys.bullPrefix, jobOptions: options.jobOptions });
}

/** The one way a digest's message is built: the workers' template cache and the privacy audit both use it. */
function initPrepareMessage(config: Config, images: RedisImageStore): App['prepareMessage'] {
  return async (digest, body) =>
    prepareDigestMessage({
      digest,
      body,
      newsletter: findNewsletter(config, digest.newsletterId),
      site: config.site,
      secret: config.secret,
      imageBytes: await readInlineImageBytes(images, body.images?.inline ?? []),
    });
}

function initTemplates(digests: RedisDigestStore, prepare: App['prepareMessage']): MessageTemplateCache {
  return createMessageTemplateCache({ loadBody: (digestId) => digests.getBody(digestId), prepare });
}

/** The image step of freezing a digest; sharp loads only here, on first use, never in a delivery worker. */
function initFreezeImages(config: Config, images: RedisImageStore, logger: Logger): App['freezeImages'] {
  const fetchImage = guardedImageFetch({
    maxBytes: config.images.fetchMaxBytes,
    timeoutMs: config.images.fetchTimeoutMs,
    allowPrivateAddresses: config.feed.allowPrivateAddresses,
  });
  return async (input) => {
    const { recompressImage } = await import('./digests/recompress-image.js');
    return freezeDigestImages(
      { fetchImage, recompress: recompressImage, images, budgetBytes: config.images.budgetBytes, logger },
      input,
    );
  };
}

/**
 * The dependencies most use cases take, from the app, with a logger of the caller's choice (a child naming the job or
 * the digest). Built explicitly rather than by spreading the app, which would create its mailer.
 */
export function useCaseDeps(app: App, logger: Logger = app.logger) {
  return {
    digests: app.digests,
    articles: app.articles,
    ledger: app.ledger,
    queues: app.queues,
    clock: app.clock,
    logger,
    lastSentAt: app.lastSentAt,
    checkBeforeSend: app.checkBeforeSend,
    freezeImages: app.freezeImages,
  };
}

function initReaderLimits(redis: RedisClient, keys: RedisKeys, config: Config): ReaderLimits {
  const subscribePerAddress = createRateLimiter(redis, keys, {
    name: 'subscribe-address',
    points: config.subscribe.ratePerAddressPerHour,
    durationSeconds: 3600,
  });
  const confirmationResend = createRateLimiter(redis, keys, {
    name: 'confirmation-resend',
    points: 1,
    durationSeconds: 600,
  });
  return {
    subscribePerIp: createRateLimiter(redis, keys, {
      name: 'subscribe-ip',
      points: config.subscribe.ratePerIpPerHour,
      durationSeconds: 3600,
    }),
    subscribePerAddress,
    confirmationResend,
    byAddress: [subscribePerAddress, confirmationResend],
    addressKey: (email) => hashKey(config.secret, email),
  };
}

/** Builds the app: checks Redis (refuses an evicting policy, warns without persistence), then wires everything. */
export async function createApp(config: Config, options: CreateAppOptions = {}): Promise<App> {
  const logger = initLogger(config, options);
  const clock = options.clock ?? (() => new Date());
  const keys = redisKeys(config.prefix);
  const { redis, queueRedis } = await initRedis(config, logger, options);
  const stores = initStores(redis, keys, config, clock);
  // An installation from before the suppression list was keyed: move its entries once.
  const migrated = await stores.subscribers.migrateLegacySuppressions();
  if (migrated > 0) logger.info({ migrated }, 'suppression list moved to keyed hashes');
  const queues = initQueues(queueRedis, keys, options);
  const prepareMessage = initPrepareMessage(config, stores.images);
  const templates = initTemplates(stores.digests, prepareMessage);
  const readerLimits = initReaderLimits(redis, keys, config);
  const linksFor = (claim: { subscriberId: number; newsletterId: string }) =>
    subscriberLinks(config.site, config.secret, claim);
  const auditDeps = { digests: stores.digests, audits: stores.audits, prepareMessage, linksFor, clock };
  const sendTelemetry = createSendTelemetry({ setAsideAfter: RELAY_UNAVAILABLE_STREAK, clock });

  let ownMailer: ClosableMailer | undefined;
  let measuredMailer: Mailer | undefined;
  let closing: Promise<void> | undefined;

  return {
    config,
    redis,
    keys,
    logger,
    clock,
    ...stores,
    queues,
    templates,
    readerLimits,
    sendTelemetry,
    get mailer(): Mailer {
      if (options.mailer) {
        const label = listRelays(config.smtp.url)[0]?.label ?? 'none';
        measuredMailer ??= createMeasuredMailer(options.mailer, sendTelemetry, label);
      } else if (!measuredMailer) {
        // Each relay's sends are measured on their own, so the metrics say which relay failed.
        const pool = createMailerFromConfig(config, {
          wrapRelay: (mailer, relay) => createMeasuredMailer(mailer, sendTelemetry, relay),
          logger,
        });
        sendTelemetry.watchRelays(() => pool.relayStatus());
        measuredMailer = ownMailer = pool;
      }
      return measuredMailer;
    },
    lastSentAt: (newsletterId) => stores.ledger.lastSentAt(newsletterId),
    prepareMessage,
    linksFor,
    freezeImages: initFreezeImages(config, stores.images, logger),
    // The audit (and its HTML and CSS parsers) loads on the first send, not in every process that opens the app.
    checkBeforeSend: async (digest, options) => {
      const { auditBeforeSend } = await import('./privacy/audit-digest.js');
      return auditBeforeSend(auditDeps)(digest, options);
    },
    close() {
      closing ??= (async () => {
        await queues.close().catch(() => undefined);
        await ownMailer?.close();
        await Promise.all([
          redis.quit().catch(() => redis.disconnect()),
          queueRedis.quit().catch(() => queueRedis.disconnect()),
        ]);
      })();
      return closing;
    },
  };
}
