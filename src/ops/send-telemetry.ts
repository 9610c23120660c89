/**
 * What a worker process observes of its own sends, between two heartbeats: how long each send took (a histogram),
 * how many transient refusals it saw (readers retried later), and whether its relay answers. The measured mailer
 * feeds it; the heartbeat drains it into Redis, where every worker's figures add up (see `worker-heartbeat.ts`).
 */
import { classifySmtpReply } from '../smtp/classify-smtp-reply.js';
import type { Mailer } from '../smtp/mailer.js';
import type { RelayStatus } from '../smtp/relay-pool.js';

/** Upper bounds (seconds) of the send latency histogram's buckets; the last bucket is +Inf. */
export const SEND_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

/** Send latencies since the last drain: per bucket (not cumulative; index = bucket, last = +Inf), sum and count. */
export interface LatencyDelta {
  buckets: number[];
  sumSeconds: number;
  count: number;
}

/** A relay as one worker sees it. */
export interface RelayHealth {
  /** `host:port`, never credentials. */
  relay: string;
  /** Transport failures (connection refused, dropped, timed out, 421) in a row; any reply of the relay resets it. */
  consecutiveUnavailable: number;
  /**
   * With several relays: the mailer set it aside (messages go to the others for a while). With one: the run of
   * failures is long enough that delivery batches stop and wait for it (they are handed back).
   */
  isSetAside: boolean;
  /** Connections to it open in this process (or messages in flight, with nodemailer), when the mailer says. */
  connections?: number;
  lastOkAt?: string;
  lastUnavailableAt?: string;
}

/** What a drain hands to the heartbeat. */
export interface TelemetryDrain {
  latency: LatencyDelta;
  /** Transient refusals seen, by nothing else than their count. */
  retried: number;
  relays: RelayHealth[];
}

/** The accumulator of one process. */
export interface SendTelemetry {
  /** Records one send: its duration and what came of it (the send's result or the thrown error). */
  observe(relay: string, seconds: number, result: { ok: true } | { ok: false; error: unknown }): void;
  /** Returns and resets the latencies and retries; relay health is kept (it is a state, not a count). */
  drain(): TelemetryDrain;
  /** Reads each relay's set-aside state and connections from the mailer at every drain. */
  watchRelays(source: () => RelayStatus[]): void;
}

/** A relay's health as kept between drains: times as epoch ms (no Date per message on the send path). */
interface RelayState {
  relay: string;
  consecutiveUnavailable: number;
  lastOkAt: number;
  lastUnavailableAt: number;
}

/** Creates an empty accumulator. `setAsideAfter`: transport failures in a row after which batches stop. */
export function createSendTelemetry(options: { setAsideAfter: number; clock?: () => Date }): SendTelemetry {
  const now = options.clock ? () => options.clock!().getTime() : Date.now;
  let buckets = new Array<number>(SEND_LATENCY_BUCKETS.length + 1).fill(0);
  let sumSeconds = 0;
  let count = 0;
  let retried = 0;
  const relays = new Map<string, RelayState>();
  const relayFor = (relay: string): RelayState => {
    let health = relays.get(relay);
    if (!health) {
      health = { relay, consecutiveUnavailable: 0, lastOkAt: 0, lastUnavailableAt: 0 };
      relays.set(relay, health);
    }
    return health;
  };
  let readRelays: () => RelayStatus[] = () => [];
  const report = (state: RelayState, status: RelayStatus | undefined): RelayHealth => ({
    relay: state.relay,
    consecutiveUnavailable: state.consecutiveUnavailable,
    isSetAside: status?.isSetAside ?? state.consecutiveUnavailable >= options.setAsideAfter,
    ...(status ? { connections: status.connections } : {}),
    ...(state.lastOkAt > 0 ? { lastOkAt: new Date(state.lastOkAt).toISOString() } : {}),
    ...(state.lastUnavailableAt > 0 ? { lastUnavailableAt: new Date(state.lastUnavailableAt).toISOString() } : {}),
  });
  return {
    observe(relay, seconds, result) {
      let index = SEND_LATENCY_BUCKETS.findIndex((upper) => seconds <= upper);
      if (index === -1) index = SEND_LATENCY_BUCKETS.length;
      buckets[index] = (buckets[index] ?? 0) + 1;
      sumSeconds += seconds;
      count += 1;
      const health = relayFor(relay);
      const reply = result.ok ? undefined : classifySmtpReply(result.error);
      if (reply?.kind === 'transient') retried += 1;
      if (reply?.isRelayUnavailable) {
        health.consecutiveUnavailable += 1;
        health.lastUnavailableAt = now();
      } else {
        // The relay answered (accepted, or refused one reader): it is there.
        health.consecutiveUnavailable = 0;
        health.lastOkAt = now();
      }
    },
    drain() {
      // Every configured relay is reported, also one that has not been used yet.
      const statuses = new Map(readRelays().map((status) => [status.relay, status]));
      for (const relay of statuses.keys()) relayFor(relay);
      const drained: TelemetryDrain = {
        latency: { buckets, sumSeconds, count },
        retried,
        relays: [...relays.values()].map((state) => report(state, statuses.get(state.relay))),
      };
      buckets = new Array<number>(SEND_LATENCY_BUCKETS.length + 1).fill(0);
      sumSeconds = 0;
      count = 0;
      retried = 0;
      return drained;
    },
    watchRelays(source) {
      readRelays = source;
    },
  };
}

/** Wraps a mailer so every send is observed: its duration, and the relay's answer or failure. */
export function createMeasuredMailer<M extends Mailer>(mailer: M, telemetry: SendTelemetry, relay: string): M {
  const send: Mailer['send'] = async (message) => {
    const started = performance.now();
    try {
      const result = await mailer.send(message);
      telemetry.observe(relay, (performance.now() - started) / 1000, { ok: true });
      return result;
    } catch (error) {
      telemetry.observe(relay, (performance.now() - started) / 1000, { ok: false, error });
      throw error;
    }
  };
  return Object.assign(Object.create(mailer) as M, { send });
}
