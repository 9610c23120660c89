/**
 * A worker's heartbeat: at start and then every `everyMs`, adds what the process observed of its sends since the
 * last beat to the shared counters and renews its record; on a clean stop, adds the rest and removes the record.
 * A beat that fails (Redis away) is logged and the next one tries again.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../logger.js';
import type { RedisMetricsStore } from './metrics-store.js';
import type { SendTelemetry } from './send-telemetry.js';
import type { RedisWorkerHeartbeats } from './worker-heartbeats.js';

/** What the heartbeat needs. */
export interface HeartbeatDeps {
  heartbeats: Pick<RedisWorkerHeartbeats, 'beat' | 'remove'>;
  metrics: Pick<RedisMetricsStore, 'addTelemetry'>;
  sendTelemetry: SendTelemetry;
  clock: () => Date;
  logger: Logger;
}

/** A running heartbeat. */
export interface Heartbeat {
  /** This worker's id in the records: `<host>:<pid>:<random>`. */
  id: string;
  /** Beats once more now (tests, and the last beat before a stop). */
  beatNow(): Promise<void>;
  /** Stops beating, adds the last observations and removes the record. */
  stop(): Promise<void>;
}

/** Starts beating at once and every `everyMs`. */
export async function startHeartbeat(
  deps: HeartbeatDeps,
  options: { everyMs: number; kinds: string[]; host?: string },
): Promise<Heartbeat> {
  const host = options.host ?? hostname();
  const id = `${host}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const startedAt = deps.clock().toISOString();
  const beatNow = async (): Promise<void> => {
    const drained = deps.sendTelemetry.drain();
    try {
      await deps.metrics.addTelemetry(drained);
      await deps.heartbeats.beat({
        id,
        host,
        pid: process.pid,
        kinds: options.kinds,
        startedAt,
        beatAt: deps.clock().toISOString(),
        beatEveryMs: options.everyMs,
        rssBytes: process.memoryUsage.rss(),
        relays: drained.relays,
      });
    } catch (error) {
      deps.logger.warn({ err: (error as Error).message }, 'heartbeat not written; trying again at the next beat');
    }
  };
  await beatNow();
  let beating: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    beating = beating.then(beatNow);
  }, options.everyMs);
  timer.unref();
  let stopping: Promise<void> | undefined;
  return {
    id,
    beatNow: () => (beating = beating.then(beatNow)),
    stop() {
      stopping ??= (async () => {
        clearInterval(timer);
        await beating;
        await deps.metrics.addTelemetry(deps.sendTelemetry.drain()).catch(() => undefined);
        await deps.heartbeats.remove(id).catch(() => undefined);
      })();
      return stopping;
    },
  };
}
