/**
 * The composition root: every dependency is built here, once, by its own `initX()`, and handed to the use cases as
 * plain objects. The CLI, the HTTP server, the workers, the demo and the benchmark all start from `createApp`.
 */
import type { Redis } from 'ioredis';
import type { JobsOptions } from 'bullmq';
import { RedisArticleStore } from './articles/article-store.js';
import { findNewsletter, type Config } from './config.js';
import { prepareDigestMessage } from './mail/compose-message.js';
import { RedisDeliveryLedger } from './delivery/delivery-ledger.js';
import { createDeliveryQueues, type DeliveryQueues } from './queue/queues.js';
import type { JobName } from './queue/job-definitions.js';
import { createMessageTemplateCache, type MessageTemplateCache } from './delivery/message-template-cache.js';
import type { ClosableMailer, Mailer } from './smtp/mailer.js';
import { createMailerFromConfig } from './smtp/smtp-mailer.js';
import { RedisDigestStore } from './digests/digest-store.js';
import { createLogger, type Logger } from './logger.js';
import { assertRedisReachable, checkRedisConfiguration, createRedis, redisKeys, type RedisKeys } from './redis.js';
import { RedisSubscriberStore } from './subscribers/subscriber-store.js';
import { RELAY_UNAVAILABLE_STREAK } from './delivery/deliver-batch.js';
import { RedisMetricsStore } from './ops/metrics-store.js';
import { createMeasuredMailer, createSendTelemetry, type SendTelemetry } from './ops/send-telemetry.js';
import { relayLabel } from './smtp/relay-label.js';
import { RedisWorkerHeartbeats } from './ops/worker-heartbeats.js';

/** Everything a process needs, built once. */
export interface App {
  config: Config;
  /** The application's connection (auto-pipelined): stores and ledger. */
  redis: Redis;
  keys: RedisKeys;
  logger: Logger;
  clock: () => Date;
  articles: RedisArticleStore;
  subscribers: RedisSubscriberStore;
  digests: RedisDigestStore;
  ledger: RedisDeliveryLedger;
  /** Counters shared by every process through Redis (delivery totals, send latency, feeds): what /metrics reads. */
  metrics: RedisMetricsStore;
  /** Worker heartbeats. */
  heartbeats: RedisWorkerHeartbeats;
  /** What this process observed of its own sends since its last heartbeat (the mailer feeds it). */
  sendTelemetry: SendTelemetry;
  /** The BullMQ queues on their own connection. */
  queues: DeliveryQueues;
  /** Prepared digest messages, one per digest per process. */
  templates: MessageTemplateCache;
  /** The SMTP mailer, created on first use (only worker processes send); every send is measured. */
  readonly mailer: Mailer;
  /** The cut-off of the newsletter's last finished digest: the next digest takes articles published after it. */
  lastSentAt(newsletterId: string): Promise<Date | undefined>;
  /** Closes the queues, the mailer and both Redis connections. Safe to call twice. */
  close(): Promise<void>;
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
}

function initLogger(config: Config, options: CreateAppOptions): Logger {
  return options.logger ?? createLogger(config.logLevel);
}

async function initRedis(config: Config, logger: Logger): Promise<{ redis: Redis; queueRedis: Redis }> {
  // Fail fast with a clear message instead of queueing commands forever against a Redis that is not there.
  await assertRedisReachable(config.redisUrl);
  const redis = createRedis(config.redisUrl);
  const queueRedis = createRedis(config.redisUrl, { enableAutoPipelining: false });
  for (const connection of [redis, queueRedis]) {
    connection.on('error', (error: Error) => logger.warn({ err: error.message }, 'redis connection error'));
  }
  try {
    await checkRedisConfiguration(redis, { requirePersistence: config.requireRedisPersistence, logger });
  } catch (error) {
    redis.disconnect();
    queueRedis.disconnect();
    throw error;
  }
  return { redis, queueRedis };
}

function initStores(redis: Redis, keys: RedisKeys, clock: () => Date) {
  return {
    articles: new RedisArticleStore(redis, keys),
    subscribers: new RedisSubscriberStore(redis, keys, clock),
    digests: new RedisDigestStore(redis, keys),
    ledger: new RedisDeliveryLedger(redis, keys),
    metrics: new RedisMetricsStore(redis, keys),
    heartbeats: new RedisWorkerHeartbeats(redis, keys),
  };
}

function initQueues(queueRedis: Redis, keys: RedisKeys, options: CreateAppOptions): DeliveryQueues {
  return createDeliveryQueues({ connection: queueRedis, prefix: keys.bullPrefix, jobOptions: options.jobOptions });
}

function initTemplates(config: Config, digests: RedisDigestStore): MessageTemplateCache {
  return createMessageTemplateCache({
    loadBody: (digestId) => digests.getBody(digestId),
    prepare: (digest, body) =>
      prepareDigestMessage({
        digest,
        body,
        newsletter: findNewsletter(config, digest.newsletterId),
        site: config.site,
        secret: config.secret,
      }),
  });
}

/** Builds the app: checks Redis (refuses an evicting policy, warns without persistence), then wires everything. */
export async function createApp(config: Config, options: CreateAppOptions = {}): Promise<App> {
  const logger = initLogger(config, options);
  const clock = options.clock ?? (() => new Date());
  const keys = redisKeys(config.prefix);
  const { redis, queueRedis } = await initRedis(config, logger);
  const stores = initStores(redis, keys, clock);
  const queues = initQueues(queueRedis, keys, options);
  const templates = initTemplates(config, stores.digests);
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
    sendTelemetry,
    get mailer(): Mailer {
      if (!measuredMailer) {
        const mailer = options.mailer ?? (ownMailer = createMailerFromConfig(config));
        measuredMailer = createMeasuredMailer(mailer, sendTelemetry, relayLabel(config.smtp.url));
      }
      return measuredMailer;
    },
    lastSentAt: (newsletterId) => stores.ledger.lastSentAt(newsletterId),
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
