/**
 * Redis: connections, every key name in one place, and the start-up checks. All keys of one prefix live under one
 * hash tag (`{prefix}`) so the same build runs on Redis Cluster and every multi-key operation stays in one slot.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { AppError } from './errors.js';
import type { Logger } from './logger.js';

/** Builds every Redis key Letterpress uses, for one prefix. */
export function redisKeys(prefix: string) {
  const tag = `{${prefix}}`;
  return {
    /** BullMQ's own prefix; queues live at `${bullPrefix}:${queueName}:*`. */
    bullPrefix: `${tag}:q`,
    /** JSON of one Article. */
    article: (id: string) => `${tag}:article:${id}`,
    /** Sorted set: article id scored by publication time (ms). */
    articlesByPublished: `${tag}:articles:published`,
    /**
     * Hash: article id → `<version ms>|<source>`: the source that created the article (only it may change it) and
     * the version time stored. Whoever deletes an article deletes its field here too.
     */
    articleProvenance: `${tag}:articles:provenance`,
    /** Hash: a CMS's own article id (as the webhook sent it) → our article id, so the CMS can unpublish by its id. */
    articlesByCmsId: `${tag}:articles:by-cms-id`,
    /** Counter handing out numeric subscriber ids (1, 2, 3, ...). */
    subscriberNextId: `${tag}:subscriber:next-id`,
    /** Hash of one subscriber's record. */
    subscriber: (id: number) => `${tag}:subscriber:${id}`,
    /** Hash: lower-cased email → subscriber id. */
    subscriberByEmail: `${tag}:subscriber:by-email`,
    /** Bitmap: bit N set while subscriber N is an active reader of the newsletter. */
    newsletterActive: (newsletterId: string) => `${tag}:newsletter:${newsletterId}:active`,
    /** ISO time of the newsletter's last digest that finished sending. */
    newsletterLastSentAt: (newsletterId: string) => `${tag}:newsletter:${newsletterId}:last-sent-at`,
    /** Sorted set: digest ids of a newsletter scored by creation time. */
    newsletterDigests: (newsletterId: string) => `${tag}:newsletter:${newsletterId}:digests`,
    /**
     * Hash: keyed hash of a lower-cased email (HMAC with LETTERPRESS_SUPPRESSION_KEY) → JSON suppression record
     * (bounce, complaint, by hand). The address itself is never stored here, so an erased reader stays suppressed.
     */
    suppressions: `${tag}:suppressions`,
    /** The suppression list before it was keyed (lower-cased email → JSON); migrated and deleted at start. */
    legacySuppressed: `${tag}:suppressed`,
    /** Sorted set: subscriber ids with a sign-up awaiting confirmation, scored by the request's time (ms). */
    pendingRequests: `${tag}:subscribers:pending-requests`,
    /** Sorted set of one address's recent soft bounces (by the address's keyed hash): event id scored by time. */
    softBounces: (suppressionField: string) => `${tag}:soft-bounces:${suppressionField}`,
    /** Hash: a digest's metadata, status and counters. */
    digest: (id: string) => `${tag}:digest:${id}`,
    /** JSON of a digest's frozen render (subject, html, text with recipient slots). */
    digestBody: (id: string) => `${tag}:digest:${id}:body`,
    /** JSON of a digest's latest privacy audit (findings, when, what was allowed). */
    digestAudit: (id: string) => `${tag}:digest:${id}:audit`,
    /** Hash of one frozen image by the SHA-256 of its bytes: `type` (content type) and `data` (the bytes). */
    frozenImage: (sha256: string) => `${tag}:image:${sha256}`,
    /** JSON of what an editor wrote around the articles (note, subject and preheader overrides, letter, pins). */
    digestComposition: (id: string) => `${tag}:digest:${id}:composition`,
    /** JSON of a digest's frozen web version (the archive page and feed entry). */
    digestWeb: (id: string) => `${tag}:digest:${id}:web`,
    /** Hash: article id → the frozen digest of the newsletter that carries it (two digests never repeat one). */
    newsletterCarried: (newsletterId: string) => `${tag}:newsletter:${newsletterId}:carried`,
    /** Bitmap snapshot of the recipients taken at fan-out. */
    digestRecipients: (id: string) => `${tag}:digest:${id}:recipients`,
    /** Ledger bitmaps: one bit per subscriber id and outcome. */
    digestSent: (id: string) => `${tag}:digest:${id}:sent`,
    digestFailed: (id: string) => `${tag}:digest:${id}:failed`,
    digestSkipped: (id: string) => `${tag}:digest:${id}:skipped`,
    /** Hash: subscriber id → reason, for failed recipients. */
    digestFailures: (id: string) => `${tag}:digest:${id}:failures`,
    /** The token of the runner that owns a delivery range (the newest one BullMQ handed its job to). */
    digestLease: (id: string, fromId: number) => `${tag}:digest:${id}:lease:${fromId}`,
    /** Sorted set of all digest ids by creation time. */
    digestsByCreated: `${tag}:digests`,
    /** A signed webhook request already accepted (SHA-256 of its signature), kept until it could no longer be replayed. */
    seenSignature: (digest: string) => `${tag}:webhook:seen:${digest}`,
    /** Hash: one configured feed's polling state (validators, last outcome, failures, backoff). */
    feedState: (feedId: string) => `${tag}:feed:${feedId}`,
    /** Hash: one newsletter schedule's last run (when, outcome, digest). */
    newsletterScheduleRun: (newsletterId: string) => `${tag}:newsletter:${newsletterId}:schedule-run`,
    /** Hash: `<outcome>|<reply class>` → deliveries recorded by every ledger (counted in the ledger's own step). */
    deliveryTotals: `${tag}:metrics:deliveries`,
    /** Hash: the send latency histogram of every worker (bucket counts, sum, count), flushed with each heartbeat. */
    sendLatency: `${tag}:metrics:send-latency`,
    /** Hash: `<result>|<feed>` → articles or fetches counted by ingest, per feed. */
    feedTotals: `${tag}:metrics:feeds`,
    /** Hash: feed → epoch ms of its last successful fetch. */
    feedLastSuccess: `${tag}:metrics:feed-last-success`,
    /** Hash: feed → epoch ms of the first failure of its current run of failures (absent while it succeeds). */
    feedFailingSince: `${tag}:metrics:feed-failing-since`,
    /** Hash: worker id → JSON heartbeat (host, pid, when it last beat, relay health). */
    workerHeartbeats: `${tag}:workers`,
    /** Prefix of a rate limiter's counters (rate-limiter-flexible appends `:<key>`). */
    rateLimit: (name: string) => `${tag}:rate:${name}`,
    /**
     * Hash: messages per second set while running (`letterpress rate set`), overriding SEND_RATE_PER_SECOND: field
     * `*` for every message, `domain:<name>` for one recipient domain.
     */
    sendRateLimits: `${tag}:send-rate:limits`,
    /** The next free instant (epoch ms, Redis time) of the installation's send schedule; expires when idle. */
    sendRateNext: `${tag}:send-rate:next`,
    /** Sorted set: the installation's permits of the last second or so, by instant (or by when sent); expires when idle. */
    sendRatePermits: `${tag}:send-rate:permits`,
    /** The next free instant of one recipient domain's send schedule; expires when idle. */
    sendRateNextForDomain: (domain: string) => `${tag}:send-rate:next:domain:${domain}`,
    /** Everything under the prefix (for tests and `reset`). */
    pattern: `${tag}:*`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;

/** Options every Letterpress connection uses. BullMQ requires `maxRetriesPerRequest: null` on worker connections. */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 5_000),
    ...options,
  });
}

/**
 * Makes a connection fail fast from now on, for processes that answer people (`serve`): while Redis is away a command
 * fails at once instead of waiting in ioredis's offline queue, and a command Redis does not answer within
 * `commandTimeoutMs` (a Redis that hangs, a network that drops packets) fails then. Call it once the connection is
 * ready; workers never do, so they wait for Redis and carry on where they were.
 */
export function failFastWhileRedisIsAway(redis: Redis, commandTimeoutMs: number): void {
  redis.options.enableOfflineQueue = false;
  redis.options.commandTimeout = commandTimeoutMs;
}

/** True when an error means Redis could not be reached or did not answer in time (not a bug in the caller). */
export function isRedisUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof AppError) return error.code === 'redis_unavailable';
  if (error.name === 'MaxRetriesPerRequestError') return true;
  return /^(Command timed out|Connection is closed|Stream isn't writeable|connect ECONNREFUSED)/.test(error.message);
}

/** Answers within `timeoutMs` whether Redis is up: false at once while the connection is down, else a bounded PING. */
export async function isRedisResponsive(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([redis.ping().then((reply) => reply === 'PONG'), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Pings Redis within the timeout or throws `redis_unavailable` with a one-sentence hint. */
export async function assertRedisReachable(url: string, timeoutMs = 3_000): Promise<void> {
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new AppError('redis_unavailable', `cannot reach Redis at ${redactUrl(url)}: ${(error as Error).message}`);
  } finally {
    probe.disconnect();
  }
}

/**
 * Start-up checks: an evicting maxmemory-policy would silently drop queued jobs and ledger entries, so it is refused;
 * a Redis without append-only persistence loses the queue on restart, so it is warned about (or refused on request).
 */
export async function checkRedisConfiguration(
  redis: Redis,
  options: { requirePersistence: boolean; logger: Logger },
): Promise<void> {
  const policy = await readConfig(redis, 'maxmemory-policy');
  if (policy !== undefined && policy !== 'noeviction') {
    throw new AppError(
      'redis_misconfigured',
      `Redis maxmemory-policy is "${policy}": set it to noeviction, or queued jobs and delivery records can be evicted`,
    );
  }
  const appendonly = await readConfig(redis, 'appendonly');
  if (appendonly !== undefined && appendonly !== 'yes') {
    const message = 'Redis runs without append-only persistence (appendonly no): a Redis restart loses queued work';
    if (options.requirePersistence) throw new AppError('redis_misconfigured', message);
    options.logger.warn(message);
  }
}

/** What `letterpress doctor` reads about a Redis: version, eviction policy, persistence and its health. */
export async function readRedisFacts(redis: Redis): Promise<{
  version: string;
  maxmemoryPolicy?: string;
  appendonly?: string;
  save?: string;
  aofLastWriteStatus?: string;
  rdbLastBgsaveStatus?: string;
}> {
  const [server, persistence, maxmemoryPolicy, appendonly, save] = await Promise.all([
    redis.info('server'),
    redis.info('persistence'),
    readConfig(redis, 'maxmemory-policy'),
    readConfig(redis, 'appendonly'),
    readConfig(redis, 'save'),
  ]);
  const field = (text: string, name: string) => new RegExp(`^${name}:(\\S+)`, 'm').exec(text)?.[1];
  return {
    version: field(server, 'redis_version') ?? 'unknown',
    ...(maxmemoryPolicy !== undefined ? { maxmemoryPolicy } : {}),
    ...(appendonly !== undefined ? { appendonly } : {}),
    ...(save !== undefined ? { save } : {}),
    ...(field(persistence, 'aof_last_write_status')
      ? { aofLastWriteStatus: field(persistence, 'aof_last_write_status') }
      : {}),
    ...(field(persistence, 'rdb_last_bgsave_status')
      ? { rdbLastBgsaveStatus: field(persistence, 'rdb_last_bgsave_status') }
      : {}),
  };
}

async function readConfig(redis: Redis, name: string): Promise<string | undefined> {
  try {
    const reply = (await redis.config('GET', name)) as string[];
    return reply[1];
  } catch {
    // Managed Redis services often forbid CONFIG; then we cannot check and trust the operator.
    return undefined;
  }
}

/** Deletes every key under a prefix (tests, `letterpress reset`). Uses SCAN, never KEYS. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** A Redis URL with any password removed, safe to print. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable url)';
  }
}
