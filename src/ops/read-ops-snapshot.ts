/**
 * Everything `/metrics` shows, read at scrape time from the shared records: queue figures, delivery totals, the send
 * latency histogram, the progress of digests in flight, ingest per feed, the workers' heartbeats (and through them
 * the relays), and, when the scheduler provides them, scheduled sends that are overdue. Plain data; the Prometheus
 * format is `prometheus-metrics.ts`'s business.
 */
import type { DeliveryTotal } from '../delivery/delivery-totals.js';
import type { Digest } from '../digests/digest.js';
import type { QueueAdmin, QueueFigures } from '../queue/queue-admin.js';
import type { FeedFigures, IngestTotals, LatencyHistogram, RedisMetricsStore } from './metrics-store.js';
import type { ObservedWorker, RedisWorkerHeartbeats } from './worker-heartbeats.js';

/** A scheduled send that fell due and has not started (the newsletters' scheduler provides these). */
export interface OverdueSend {
  newsletterId: string;
  /** When it was due. */
  dueAt: Date;
}

/** Where scheduled sends come from; without a scheduler there are none. */
export interface ScheduledSendSource {
  listOverdue(now: Date): Promise<OverdueSend[]>;
}

/** A relay as the installation sees it. */
export interface RelayFigures {
  relay: string;
  /** Whether it answered the last probe or the last sends (undefined: nobody knows yet). */
  isUp: boolean | undefined;
  /** True when a live worker set it aside (several relays) or stopped sending to it after a run of failures. */
  isSetAside: boolean;
  /** Connections to it open in the live workers, summed (undefined: no worker reported them). */
  connections: number | undefined;
}

/** The digests still on their way, with their progress. */
export interface DigestProgress {
  id: string;
  newsletterId: string;
  status: Digest['status'];
  recipients: number;
  delivered: number;
  failed: number;
  skipped: number;
}

/** What one scrape shows. */
export interface OpsSnapshot {
  redisUp: boolean;
  queues: QueueFigures[];
  deliveries: DeliveryTotal[];
  latency: LatencyHistogram | undefined;
  digests: DigestProgress[];
  feeds: FeedFigures[];
  ingestTotals: IngestTotals | undefined;
  workers: ObservedWorker[];
  relays: RelayFigures[];
  overdueSends: OverdueSend[];
}

/** What the snapshot reads. */
export interface ReadOpsSnapshotDeps {
  ping(): Promise<unknown>;
  queues: Pick<QueueAdmin, 'names' | 'describe'>;
  metrics: Pick<RedisMetricsStore, 'readDeliveryTotals' | 'readSendLatency' | 'readFeeds'>;
  heartbeats: Pick<RedisWorkerHeartbeats, 'list'>;
  digests: { list(limit: number): Promise<Digest[]> };
  /** The relays this process is configured with and whether each answers now (serve probes them, cached). */
  probeRelays?: () => Promise<{ relay: string; isUp: boolean }[]>;
  scheduledSends?: ScheduledSendSource;
  clock: () => Date;
}

/** A snapshot with nothing in it: what a scrape shows when Redis does not answer. */
export function emptyOpsSnapshot(redisUp: boolean): OpsSnapshot {
  return {
    redisUp,
    queues: [],
    deliveries: [],
    latency: undefined,
    digests: [],
    feeds: [],
    ingestTotals: undefined,
    workers: [],
    relays: [],
    overdueSends: [],
  };
}

/** Digests looked at for progress: the newest this many (a paused digest older than that is not shown). */
const RECENT_DIGESTS = 50;

/** Reads one snapshot. When Redis does not answer, says so and shows nothing else. */
export async function readOpsSnapshot(deps: ReadOpsSnapshotDeps): Promise<OpsSnapshot> {
  const now = deps.clock();
  try {
    await deps.ping();
  } catch {
    return emptyOpsSnapshot(false);
  }
  const [queues, deliveries, latency, feeds, workers, recent, probed, overdueSends] = await Promise.all([
    Promise.all(deps.queues.names.map((name) => deps.queues.describe(name))),
    deps.metrics.readDeliveryTotals(),
    deps.metrics.readSendLatency(),
    deps.metrics.readFeeds(),
    deps.heartbeats.list(now),
    deps.digests.list(RECENT_DIGESTS),
    deps.probeRelays?.().catch(() => undefined),
    deps.scheduledSends?.listOverdue(now) ?? Promise.resolve([]),
  ]);
  return {
    redisUp: true,
    queues,
    deliveries,
    latency,
    digests: recent
      .filter((digest) => digest.status === 'sending' || digest.status === 'paused')
      .map((digest) => ({ id: digest.id, newsletterId: digest.newsletterId, status: digest.status, ...digest.counts })),
    feeds: feeds.feeds,
    ingestTotals: feeds.totals,
    workers,
    relays: judgeRelays(workers, probed),
    overdueSends,
  };
}

/**
 * Each relay once: up when the probe (or, without one, the latest report of a live worker) says it answers; set
 * aside when any live worker stopped sending to it.
 */
export function judgeRelays(
  workers: readonly ObservedWorker[],
  probed: readonly { relay: string; isUp: boolean }[] | undefined,
): RelayFigures[] {
  const relays = new Map<string, RelayFigures & { latestReport: number }>();
  for (const probe of probed ?? []) {
    relays.set(probe.relay, {
      relay: probe.relay,
      isUp: probe.isUp,
      isSetAside: false,
      connections: undefined,
      latestReport: Infinity,
    });
  }
  for (const worker of workers) {
    if (worker.isStale) continue;
    for (const health of worker.relays) {
      const known = relays.get(health.relay) ?? {
        relay: health.relay,
        isUp: undefined,
        isSetAside: false,
        connections: undefined,
        latestReport: -Infinity,
      };
      known.isSetAside ||= health.isSetAside;
      if (health.connections !== undefined) known.connections = (known.connections ?? 0) + health.connections;
      const reportedAt = Math.max(
        Date.parse(health.lastOkAt ?? '') || 0,
        Date.parse(health.lastUnavailableAt ?? '') || 0,
      );
      // A relay a worker has not used yet (listed with several relays) says nothing about whether it answers.
      if (reportedAt > 0 && reportedAt > known.latestReport) {
        known.latestReport = reportedAt;
        known.isUp = health.consecutiveUnavailable === 0;
      }
      relays.set(health.relay, known);
    }
  }
  return [...relays.values()].map(({ latestReport: _latest, ...relay }) => relay);
}
