/**
 * The counters that several processes add to and `/metrics` reads, kept in Redis so that the figures are the
 * installation's, not one process's: delivery totals (the ledger counts recorded outcomes itself; workers add their
 * retries), the send latency histogram (workers add theirs at each heartbeat), and ingest results per feed.
 */
import { parseDeliveryTotals, deliveryTotalsField, type DeliveryTotal } from '../delivery/delivery-totals.js';
import type { RedisKeys, RedisClient } from '../redis.js';
import { SEND_LATENCY_BUCKETS, type TelemetryDrain } from './send-telemetry.js';

/** The installation's send latency histogram: cumulative counts per upper bound (seconds; the last is +Inf). */
export interface LatencyHistogram {
  buckets: { le: number; count: number }[];
  sumSeconds: number;
  count: number;
}

/** One feed's ingest figures. */
export interface FeedFigures {
  feed: string;
  fetchesOk: number;
  fetchesRejected: number;
  /** Articles read from the feed (new, updated or unchanged). */
  articles: number;
  /** Epoch ms of the last successful fetch, or undefined. */
  lastSuccessAt?: number;
  /** Epoch ms of the first failure of the current run of failures; undefined while the feed succeeds. */
  failingSince?: number;
}

/** How one ingest of one feed went. */
export type FeedIngestResult = { feed: string; ok: true; articles: number } | { feed: string; ok: false };

/** Installation-wide article counts of an ingest. */
export interface IngestTotals {
  ingested: number;
  updated: number;
  unchanged: number;
}

type MetricsKeys = Pick<
  RedisKeys,
  'deliveryTotals' | 'sendLatency' | 'feedTotals' | 'feedLastSuccess' | 'feedFailingSince'
>;

/** A feed source as a metric label: a URL without credentials or query (which may hold a token), a path as it is. */
export function feedLabel(source: string): string {
  if (/^https?:\/\//i.test(source)) {
    try {
      const url = new URL(source);
      return `${url.protocol}//${url.host}${url.pathname}`.slice(0, 200);
    } catch {
      return 'unparseable-url';
    }
  }
  return source.slice(0, 200);
}

/** Reads and adds to the shared counters. */
export class RedisMetricsStore {
  /** Uses the app's connection; every key lives under the installation's hash tag. */
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: MetricsKeys,
  ) {}

  /** Adds one worker's latencies and retries since its last heartbeat (one round trip). */
  async addTelemetry(drain: TelemetryDrain): Promise<void> {
    if (drain.latency.count === 0 && drain.retried === 0) return;
    const pipeline = this.redis.pipeline();
    drain.latency.buckets.forEach((count, index) => {
      if (count > 0) pipeline.hincrby(this.keys.sendLatency, `b${index}`, count);
    });
    if (drain.latency.count > 0) {
      pipeline.hincrbyfloat(this.keys.sendLatency, 'sum', drain.latency.sumSeconds);
      pipeline.hincrby(this.keys.sendLatency, 'count', drain.latency.count);
    }
    if (drain.retried > 0) {
      pipeline.hincrby(this.keys.deliveryTotals, deliveryTotalsField('retried', 'transient'), drain.retried);
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
  }

  /** Counts an ingest report (a feed not modified since the last poll is a successful fetch of no new article). */
  async recordIngestReport(
    report: IngestTotals & { sources: readonly { source: string; status: string; articles: number }[] },
    now: Date,
  ): Promise<void> {
    const results = report.sources.map((source): FeedIngestResult =>
      source.status === 'rejected'
        ? { feed: source.source, ok: false }
        : { feed: source.source, ok: true, articles: source.articles },
    );
    await this.recordIngest(results, report, now);
  }

  /** Counts an ingest: per feed its fetch result and articles, the time of its last success or first failure. */
  async recordIngest(results: readonly FeedIngestResult[], totals: IngestTotals, now: Date): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const result of results) {
      const feed = feedLabel(result.feed);
      if (result.ok) {
        pipeline.hincrby(this.keys.feedTotals, `fetch-ok|${feed}`, 1);
        pipeline.hincrby(this.keys.feedTotals, `articles|${feed}`, result.articles);
        pipeline.hset(this.keys.feedLastSuccess, feed, now.getTime());
        pipeline.hdel(this.keys.feedFailingSince, feed);
      } else {
        pipeline.hincrby(this.keys.feedTotals, `fetch-rejected|${feed}`, 1);
        pipeline.hsetnx(this.keys.feedFailingSince, feed, now.getTime());
      }
    }
    for (const [result, count] of Object.entries(totals)) {
      if (count > 0) pipeline.hincrby(this.keys.feedTotals, `total-${result}|`, count);
    }
    await pipeline.exec();
  }

  /** Every delivery total (see `delivery-totals.ts`). */
  async readDeliveryTotals(): Promise<DeliveryTotal[]> {
    return parseDeliveryTotals(await this.redis.hgetall(this.keys.deliveryTotals));
  }

  /** The installation's send latency histogram. */
  async readSendLatency(): Promise<LatencyHistogram> {
    const hash = await this.redis.hgetall(this.keys.sendLatency);
    let cumulative = 0;
    const bounds = [...SEND_LATENCY_BUCKETS, Number.POSITIVE_INFINITY];
    const buckets = bounds.map((le, index) => {
      cumulative += Number(hash[`b${index}`] ?? 0);
      return { le, count: cumulative };
    });
    return { buckets, sumSeconds: Number(hash.sum ?? 0), count: Number(hash.count ?? 0) };
  }

  /** Per-feed figures and the installation's article totals. */
  async readFeeds(): Promise<{ feeds: FeedFigures[]; totals: IngestTotals }> {
    const [counts, lastSuccess, failingSince] = await Promise.all([
      this.redis.hgetall(this.keys.feedTotals),
      this.redis.hgetall(this.keys.feedLastSuccess),
      this.redis.hgetall(this.keys.feedFailingSince),
    ]);
    const feeds = new Map<string, FeedFigures>();
    const feedFor = (feed: string): FeedFigures => {
      let figures = feeds.get(feed);
      if (!figures) {
        figures = { feed, fetchesOk: 0, fetchesRejected: 0, articles: 0 };
        feeds.set(feed, figures);
      }
      return figures;
    };
    const totals: IngestTotals = { ingested: 0, updated: 0, unchanged: 0 };
    for (const [field, value] of Object.entries(counts)) {
      const bar = field.indexOf('|');
      const kind = field.slice(0, bar);
      const feed = field.slice(bar + 1);
      const count = Number(value);
      if (kind === 'fetch-ok') feedFor(feed).fetchesOk = count;
      else if (kind === 'fetch-rejected') feedFor(feed).fetchesRejected = count;
      else if (kind === 'articles') feedFor(feed).articles = count;
      else if (kind === 'total-ingested') totals.ingested = count;
      else if (kind === 'total-updated') totals.updated = count;
      else if (kind === 'total-unchanged') totals.unchanged = count;
    }
    for (const [feed, at] of Object.entries(lastSuccess)) feedFor(feed).lastSuccessAt = Number(at);
    for (const [feed, at] of Object.entries(failingSince)) feedFor(feed).failingSince = Number(at);
    return { feeds: [...feeds.values()].sort((a, b) => a.feed.localeCompare(b.feed)), totals };
  }
}
