/**
 * The Prometheus exposition of an ops snapshot (prom-client): every series Letterpress publishes, plus the default
 * Node metrics of the process that serves them. The values come from Redis at each scrape (see `read-ops-snapshot.ts`),
 * so they are the installation's, whichever process or host counted them. README lists the series.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { LatencyHistogram } from './metrics-store.js';
import type { OpsSnapshot } from './read-ops-snapshot.js';

/** Every series name, for the dashboard and alert rules to be checked against. */
export const METRIC_NAMES = [
  'letterpress_redis_up',
  'letterpress_queue_jobs',
  'letterpress_queue_paused',
  'letterpress_queue_workers',
  'letterpress_jobs_total',
  'letterpress_deliveries_total',
  'letterpress_send_duration_seconds',
  'letterpress_digest_recipients',
  'letterpress_digest_settled',
  'letterpress_digest_paused',
  'letterpress_feed_fetches_total',
  'letterpress_feed_articles_total',
  'letterpress_feed_last_success_timestamp_seconds',
  'letterpress_feed_failing_since_timestamp_seconds',
  'letterpress_articles_total',
  'letterpress_workers',
  'letterpress_worker_heartbeat_age_seconds',
  'letterpress_worker_rss_bytes',
  'letterpress_relay_up',
  'letterpress_relay_set_aside',
  'letterpress_relay_connections',
  'letterpress_scheduled_send_overdue_seconds',
] as const;

/** A registry that renders snapshots. */
export interface PrometheusMetrics {
  registry: Registry;
  /** The text exposition of one snapshot (scrapes are rendered one at a time). */
  render(snapshot: OpsSnapshot): Promise<string>;
  contentType: string;
}

/** A histogram whose buckets are read from Redis rather than observed in this process. */
class StoredHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  value: LatencyHistogram | undefined;
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  get() {
    const histogram = this.value;
    const values = histogram
      ? [
          ...histogram.buckets.map((bucket) => ({
            metricName: `${this.name}_bucket`,
            labels: { le: Number.isFinite(bucket.le) ? String(bucket.le) : '+Inf' },
            value: bucket.count,
          })),
          { metricName: `${this.name}_sum`, labels: {}, value: histogram.sumSeconds },
          { metricName: `${this.name}_count`, labels: {}, value: histogram.count },
        ]
      : [];
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
  reset() {
    this.value = undefined;
  }
}

/** Declares every series on the registry; `reset` empties ours before each snapshot is set. */
function declareSeries(registry: Registry) {
  const registers = [registry];
  // Ours are set from each snapshot (reset first, so a digest or worker that went away leaves no series behind).
  const ours: { reset(): void }[] = [];
  const track = <M extends { reset(): void }>(metric: M): M => {
    ours.push(metric);
    return metric;
  };
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    track(new Gauge<L>({ name, help, labelNames, registers }));
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    track(new Counter<L>({ name, help, labelNames, registers }));

  const redisUp = gauge('letterpress_redis_up', 'Whether Redis answered the scrape (1) or not (0).');
  const queueJobs = gauge('letterpress_queue_jobs', 'Jobs in each queue by state.', ['queue', 'state']);
  const queuePaused = gauge('letterpress_queue_paused', 'Whether the queue is paused (1) for every worker.', ['queue']);
  const queueWorkers = gauge('letterpress_queue_workers', 'Workers connected to the queue.', ['queue']);
  const jobs = counter('letterpress_jobs_total', 'Jobs finished, by result (failed: no attempt left).', [
    'queue',
    'result',
  ]);
  const deliveries = counter(
    'letterpress_deliveries_total',
    'Deliveries by outcome (delivered, failed, suppressed, skipped; retried per transient refusal) and SMTP reply class; equal to the ledgers.',
    ['outcome', 'reply_class'],
  );
  const latency = new StoredHistogram(
    'letterpress_send_duration_seconds',
    'Time from handing a message to the relay to its answer, every worker.',
  );
  registry.registerMetric(track(latency) as unknown as Metric);
  const digestRecipients = gauge('letterpress_digest_recipients', 'Recipients of a digest that is sending or paused.', [
    'digest',
    'newsletter',
  ]);
  const digestSettled = gauge('letterpress_digest_settled', 'Recipients of a digest in flight with an outcome.', [
    'digest',
    'newsletter',
    'outcome',
  ]);
  const digestPaused = gauge(
    'letterpress_digest_paused',
    'A digest that is paused (1) and waits for `digest resume`.',
    ['digest', 'newsletter'],
  );
  const feedFetches = counter('letterpress_feed_fetches_total', 'Fetches of a feed by result (ok, rejected).', [
    'feed',
    'result',
  ]);
  const feedArticles = counter('letterpress_feed_articles_total', 'Articles read from a feed.', ['feed']);
  const feedLastSuccess = gauge(
    'letterpress_feed_last_success_timestamp_seconds',
    'Unix time of the last successful fetch of a feed (0: never).',
    ['feed'],
  );
  const feedFailingSince = gauge(
    'letterpress_feed_failing_since_timestamp_seconds',
    'Unix time of the first failure of the current run of failures of a feed (0: its last fetch succeeded).',
    ['feed'],
  );
  const articles = counter('letterpress_articles_total', 'Articles ingested by result.', ['result']);
  const workers = gauge('letterpress_workers', 'Workers by heartbeat state (alive, stale: stopped beating).', [
    'state',
  ]);
  const workerAge = gauge('letterpress_worker_heartbeat_age_seconds', 'Seconds since a worker last beat.', [
    'worker',
    'host',
  ]);
  const workerRss = gauge('letterpress_worker_rss_bytes', 'Resident memory of a worker at its last beat.', [
    'worker',
    'host',
  ]);
  const relayUp = gauge('letterpress_relay_up', 'Whether the relay answers (1) or not (0).', ['relay']);
  const relaySetAside = gauge(
    'letterpress_relay_set_aside',
    'A relay that workers set aside after it failed (1): with several relays the others carry its messages for a ' +
      'while; with one, batches wait for it.',
    ['relay'],
  );
  const relayConnections = gauge(
    'letterpress_relay_connections',
    'SMTP connections open to the relay, summed over the live workers.',
    ['relay'],
  );
  const overdue = gauge(
    'letterpress_scheduled_send_overdue_seconds',
    'Seconds since a scheduled send fell due without starting (0 when none is overdue).',
    ['newsletter'],
  );
  return {
    redisUp,
    queueJobs,
    queuePaused,
    queueWorkers,
    jobs,
    deliveries,
    latency,
    digestRecipients,
    digestSettled,
    digestPaused,
    feedFetches,
    feedArticles,
    feedLastSuccess,
    feedFailingSince,
    articles,
    workers,
    workerAge,
    workerRss,
    relayUp,
    relaySetAside,
    relayConnections,
    overdue,
    reset: () => ours.forEach((metric) => metric.reset()),
  };
}

/** Sets every series from one snapshot (a digest or worker that went away leaves no series behind). */
function setFromSnapshot(series: ReturnType<typeof declareSeries>, snapshot: OpsSnapshot): void {
  series.reset();
  series.redisUp.set(snapshot.redisUp ? 1 : 0);
  for (const queue of snapshot.queues) {
    for (const [state, count] of Object.entries(queue.counts))
      series.queueJobs.set({ queue: queue.name, state }, count);
    series.queuePaused.set({ queue: queue.name }, queue.isPaused ? 1 : 0);
    if (queue.workers !== undefined) series.queueWorkers.set({ queue: queue.name }, queue.workers);
    series.jobs.inc({ queue: queue.name, result: 'completed' }, queue.completedTotal);
    series.jobs.inc({ queue: queue.name, result: 'failed' }, queue.failedTotal);
  }
  for (const total of snapshot.deliveries) {
    series.deliveries.inc({ outcome: total.outcome, reply_class: total.replyClass }, total.count);
  }
  series.latency.value = snapshot.latency;
  for (const digest of snapshot.digests) {
    const labels = { digest: digest.id, newsletter: digest.newsletterId };
    series.digestRecipients.set(labels, digest.recipients);
    for (const outcome of ['delivered', 'failed', 'skipped'] as const) {
      series.digestSettled.set({ ...labels, outcome }, digest[outcome]);
    }
    series.digestPaused.set(labels, digest.status === 'paused' ? 1 : 0);
  }
  for (const feed of snapshot.feeds) {
    series.feedFetches.inc({ feed: feed.feed, result: 'ok' }, feed.fetchesOk);
    series.feedFetches.inc({ feed: feed.feed, result: 'rejected' }, feed.fetchesRejected);
    series.feedArticles.inc({ feed: feed.feed }, feed.articles);
    series.feedLastSuccess.set({ feed: feed.feed }, (feed.lastSuccessAt ?? 0) / 1000);
    series.feedFailingSince.set({ feed: feed.feed }, (feed.failingSince ?? 0) / 1000);
  }
  if (snapshot.ingestTotals) {
    for (const [result, count] of Object.entries(snapshot.ingestTotals)) series.articles.inc({ result }, count);
  }
  series.workers.set({ state: 'alive' }, snapshot.workers.filter((worker) => !worker.isStale).length);
  series.workers.set({ state: 'stale' }, snapshot.workers.filter((worker) => worker.isStale).length);
  for (const worker of snapshot.workers) {
    const labels = { worker: worker.id, host: worker.host };
    series.workerAge.set(labels, worker.ageMs / 1000);
    series.workerRss.set(labels, worker.rssBytes);
  }
  for (const relay of snapshot.relays) {
    if (relay.isUp !== undefined) series.relayUp.set({ relay: relay.relay }, relay.isUp ? 1 : 0);
    series.relaySetAside.set({ relay: relay.relay }, relay.isSetAside ? 1 : 0);
    if (relay.connections !== undefined) series.relayConnections.set({ relay: relay.relay }, relay.connections);
  }
  for (const send of snapshot.overdueSends) {
    series.overdue.set({ newsletter: send.newsletterId }, Math.max(0, (Date.now() - send.dueAt.getTime()) / 1000));
  }
}

/** Creates the registry with every series and the default Node metrics. */
export function createPrometheusMetrics(): PrometheusMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const series = declareSeries(registry);
  let queue: Promise<unknown> = Promise.resolve();
  return {
    registry,
    contentType: registry.contentType,
    render(snapshot) {
      const rendered = queue.then(async () => {
        setFromSnapshot(series, snapshot);
        return registry.metrics();
      });
      queue = rendered.catch(() => undefined);
      return rendered;
    },
  };
}
