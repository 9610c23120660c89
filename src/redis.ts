/**
 * Redis: connections, every key name in one place, and the start-up checks. All keys of one prefix live under one
 * hash tag (`{prefix}`) so the same build runs on Redis Cluster and every multi-key operation stays in one slot.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
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

/** A host and a port (a Cluster node, a sentinel). */
export interface HostPort {
  host: string;
  port: number;
}

/** Credentials and TLS of the Redis nodes behind a Cluster or Sentinel (a standalone URL carries its own). */
export interface RedisNodeAuth {
  username?: string;
  password?: string;
  /** Talk TLS to the nodes. */
  isTls: boolean;
}

/**
 * Where Redis is: one server (or a managed endpoint) by URL, a Redis Cluster by some of its nodes, or a primary that
 * Sentinel names. Every key of a prefix shares one hash tag, so all three hold the same data in the same way.
 */
export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | ({ kind: 'cluster'; nodes: HostPort[] } & RedisNodeAuth)
  | ({ kind: 'sentinel'; sentinels: HostPort[]; name: string; sentinelPassword?: string } & RedisNodeAuth);

/** A connection to Redis: one server (also a primary found through Sentinel), or a Cluster. */
export type RedisClient = Redis | Cluster;

/** What a caller may tune on a connection; the same names whatever the target (a Cluster applies them per node). */
export type RedisConnectionOptions = Pick<
  RedisOptions,
  | 'maxRetriesPerRequest'
  | 'enableAutoPipelining'
  | 'retryStrategy'
  | 'lazyConnect'
  | 'connectTimeout'
  | 'commandTimeout'
  | 'enableOfflineQueue'
  | 'enableReadyCheck'
>;

/**
 * Options every Letterpress connection starts from. BullMQ requires `maxRetriesPerRequest: null` on worker
 * connections, and a command waits for Redis to come back rather than fail.
 */
const CONNECTION_DEFAULTS: RedisConnectionOptions = {
  maxRetriesPerRequest: null,
  enableAutoPipelining: true,
  retryStrategy: (attempt) => Math.min(attempt * 200, 5_000),
};

/**
 * The one place a Redis connection is made (the app, the queues and workers through them, the CLI, the doctor, the
 * demo, the tests). A URL gives one server; a target may also be a Cluster or a primary behind Sentinel.
 */
export function createRedis(url: string, options?: RedisOptions): Redis;
export function createRedis(target: RedisTarget, options?: RedisConnectionOptions): RedisClient;
export function createRedis(target: RedisTarget | string, options: RedisConnectionOptions = {}): RedisClient {
  const settings = { ...CONNECTION_DEFAULTS, ...options };
  const resolved: RedisTarget = typeof target === 'string' ? { kind: 'standalone', url: target } : target;
  if (resolved.kind === 'standalone') return new Redis(resolved.url, settings);
  const nodeAuth = {
    ...(resolved.username ? { username: resolved.username } : {}),
    ...(resolved.password ? { password: resolved.password } : {}),
    ...(resolved.isTls ? { tls: {} } : {}),
  };
  if (resolved.kind === 'sentinel') {
    return new Redis({
      ...settings,
      ...nodeAuth,
      sentinels: resolved.sentinels,
      name: resolved.name,
      ...(resolved.sentinelPassword ? { sentinelPassword: resolved.sentinelPassword } : {}),
      ...(resolved.isTls ? { enableTLSForSentinelMode: true } : {}),
      // Ask the sentinels again soon after losing the primary: a failover names a new one within seconds.
      sentinelRetryStrategy: (attempt: number) => Math.min(attempt * 200, 2_000),
    });
  }
  const { retryStrategy, enableAutoPipelining, enableOfflineQueue, enableReadyCheck, lazyConnect, ...perNode } =
    settings;
  const clusterOptions: ClusterOptions = {
    ...(retryStrategy ? { clusterRetryStrategy: (attempt: number) => retryStrategy(attempt) ?? null } : {}),
    ...(enableAutoPipelining !== undefined ? { enableAutoPipelining } : {}),
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    ...(enableReadyCheck !== undefined ? { enableReadyCheck } : {}),
    ...(lazyConnect !== undefined ? { lazyConnect } : {}),
    // Managed clusters with TLS answer CLUSTER SLOTS with addresses whose certificates name the host we were given:
    // keep host names as they are instead of resolving them to addresses the certificate does not list.
    ...(resolved.isTls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
    redisOptions: { ...perNode, ...nodeAuth },
  };
  return new Cluster(resolved.nodes, clusterOptions);
}

/** The target in words, without any password: for errors and logs. */
export function describeRedisTarget(target: RedisTarget): string {
  const list = (nodes: HostPort[]) => nodes.map((node) => `${node.host}:${node.port}`).join(',');
  if (target.kind === 'standalone') return redactUrl(target.url);
  if (target.kind === 'cluster') return `the Redis Cluster at ${list(target.nodes)}`;
  return `the primary "${target.name}" named by the sentinels at ${list(target.sentinels)}`;
}

/** The primaries of a connection: itself, or each primary of a Cluster (connecting first if it has not yet). */
export async function primariesOf(redis: RedisClient): Promise<Redis[]> {
  if (!(redis instanceof Cluster)) return [redis];
  if (redis.nodes('master').length === 0) await redis.ping();
  return redis.nodes('master');
}

/**
 * Makes a connection fail fast from now on, for processes that answer people (`serve`): while Redis is away a command
 * fails at once instead of waiting in ioredis's offline queue, and a command Redis does not answer within
 * `commandTimeoutMs` (a Redis that hangs, a network that drops packets) fails then. Call it once the connection is
 * ready; workers never do, so they wait for Redis and carry on where they were.
 */
export function failFastWhileRedisIsAway(redis: RedisClient, commandTimeoutMs: number): void {
  redis.options.enableOfflineQueue = false;
  if (redis instanceof Cluster) {
    // Node connections made later (after a failover or a resharding) take it from here; those open now are set below.
    redis.options.redisOptions = { ...redis.options.redisOptions, commandTimeout: commandTimeoutMs };
    for (const node of redis.nodes()) node.options.commandTimeout = commandTimeoutMs;
  } else {
    redis.options.commandTimeout = commandTimeoutMs;
  }
}

/** True when an error means Redis could not be reached or did not answer in time (not a bug in the caller). */
export function isRedisUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof AppError) return error.code === 'redis_unavailable';
  if (error.name === 'MaxRetriesPerRequestError') return true;
  return /^(Command timed out|Connection is closed|Stream isn't writeable|connect ECONNREFUSED|None of startup nodes is available|Cluster isn't ready)/.test(
    error.message,
  );
}

/** Answers within `timeoutMs` whether Redis is up: false at once while the connection is down, else a bounded PING. */
export async function isRedisResponsive(redis: RedisClient, timeoutMs: number): Promise<boolean> {
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
export async function assertRedisReachable(target: RedisTarget | string, timeoutMs = 3_000): Promise<void> {
  const resolved: RedisTarget = typeof target === 'string' ? { kind: 'standalone', url: target } : target;
  const probe = createRedis(resolved, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    enableAutoPipelining: false,
  });
  probe.on('error', () => {});
  try {
    await withTimeout(
      (async () => {
        await probe.connect();
        await probe.ping();
      })(),
      // A Cluster or Sentinel tries several addresses in turn, each with its own connect timeout: bound the whole.
      timeoutMs * 2,
    );
  } catch (error) {
    throw new AppError(
      'redis_unavailable',
      `cannot reach Redis at ${describeRedisTarget(resolved)}: ${(error as Error).message}`,
    );
  } finally {
    probe.disconnect();
  }
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Start-up checks: an evicting maxmemory-policy would silently drop queued jobs and ledger entries, so it is refused;
 * a Redis without append-only persistence loses the queue on restart, so it is warned about (or refused on request).
 * In a Cluster every primary is checked: a failover or a resharding may move the installation's slot to any of them.
 */
export async function checkRedisConfiguration(
  redis: RedisClient,
  options: { requirePersistence: boolean; logger: Logger },
): Promise<void> {
  const primaries = await primariesOf(redis);
  for (const primary of primaries) {
    const where = primaries.length > 1 ? ` on ${primary.options.host ?? '?'}:${primary.options.port ?? '?'}` : '';
    const policy = await readConfig(primary, 'maxmemory-policy');
    if (policy !== undefined && policy !== 'noeviction') {
      throw new AppError(
        'redis_misconfigured',
        `Redis maxmemory-policy is "${policy}"${where}: set it to noeviction, or queued jobs and delivery records can be evicted`,
      );
    }
    const appendonly = await readConfig(primary, 'appendonly');
    if (appendonly !== undefined && appendonly !== 'yes') {
      const message = `Redis runs without append-only persistence (appendonly no)${where}: a Redis restart loses queued work`;
      if (options.requirePersistence) throw new AppError('redis_misconfigured', message);
      options.logger.warn(message);
    }
  }
}

/** What `letterpress doctor` reads about a Redis. */
export interface RedisFactsRead {
  version: string;
  maxmemoryPolicy?: string;
  appendonly?: string;
  save?: string;
  aofLastWriteStatus?: string;
  rdbLastBgsaveStatus?: string;
}

/**
 * What `letterpress doctor` reads about a Redis: version, eviction policy, persistence and its health. In a Cluster,
 * each fact is the worst any primary shows (the oldest version, an evicting policy, persistence off or failing), so
 * no bad node hides behind good ones.
 */
export async function readRedisFacts(redis: RedisClient): Promise<RedisFactsRead> {
  const facts = await Promise.all((await primariesOf(redis)).map(readOneRedisFacts));
  const [first] = facts;
  if (!first) throw new AppError('redis_unavailable', 'the Redis Cluster has no primary');
  const worst = <K extends Exclude<keyof RedisFactsRead, 'version' | 'save'>>(name: K, good: string) => {
    const value = facts.map((read) => read[name]).find((found) => found !== undefined && found !== good);
    return value ?? first[name];
  };
  const merged: RedisFactsRead = {
    version: facts.map((read) => read.version).sort(compareVersions)[0] ?? first.version,
    ...(first.save !== undefined ? { save: first.save } : {}),
  };
  const fields = [
    ['maxmemoryPolicy', 'noeviction'],
    ['appendonly', 'yes'],
    ['aofLastWriteStatus', 'ok'],
    ['rdbLastBgsaveStatus', 'ok'],
  ] as const;
  for (const [name, good] of fields) {
    const value = worst(name, good);
    if (value !== undefined) merged[name] = value;
  }
  return merged;
}

/** Orders dotted versions, oldest first. */
function compareVersions(left: string, right: string): number {
  const a = left.split('.').map((part) => Number.parseInt(part, 10) || 0);
  const b = right.split('.').map((part) => Number.parseInt(part, 10) || 0);
  for (let index = 0; index < Math.max(a.length, b.length); index += 1) {
    const difference = (a[index] ?? 0) - (b[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

async function readOneRedisFacts(redis: Redis): Promise<RedisFactsRead> {
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

/**
 * Deletes every key under a prefix (tests, `letterpress reset`). Uses SCAN, never KEYS; in a Cluster it scans every
 * primary (SCAN sees one node's keys only), though the prefix's hash tag keeps them all on one.
 */
export async function deletePrefix(redis: RedisClient, prefix: string): Promise<number> {
  let deleted = 0;
  for (const primary of await primariesOf(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await primary.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await primary.unlink(...keys);
    } while (cursor !== '0');
  }
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
