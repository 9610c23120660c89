/**
 * Worker heartbeats in Redis: every `letterpress worker` writes its record (host, pid, when it beat, how often it
 * means to, its relay's health) every `WORKER_HEARTBEAT_MS`, and removes it when it stops cleanly. A record that
 * stops being renewed is a worker that died or hangs: it shows as stale (in `health --worker`, `/metrics`, `digest
 * send --wait`) for an hour, then it is forgotten.
 */
import { z } from 'zod';
import type { RedisKeys, RedisClient } from '../redis.js';

/** One worker's record, as written at each beat. */
export const WorkerHeartbeatSchema = z.object({
  id: z.string().min(1).max(200),
  host: z.string().min(1).max(255),
  pid: z.number().int().min(0),
  /** The queues it works on. */
  kinds: z.array(z.string()),
  startedAt: z.iso.datetime({ offset: true }),
  beatAt: z.iso.datetime({ offset: true }),
  /** How often it beats, in milliseconds; it counts as stale after a few missed beats. */
  beatEveryMs: z.number().int().min(1),
  rssBytes: z.number().int().min(0),
  relays: z.array(
    z.object({
      relay: z.string(),
      consecutiveUnavailable: z.number().int().min(0),
      isSetAside: z.boolean(),
      connections: z.number().int().min(0).optional(),
      lastOkAt: z.iso.datetime({ offset: true }).optional(),
      lastUnavailableAt: z.iso.datetime({ offset: true }).optional(),
    }),
  ),
});
export type WorkerHeartbeat = z.infer<typeof WorkerHeartbeatSchema>;

/** A record as read back, with its age. */
export interface ObservedWorker extends WorkerHeartbeat {
  /** Milliseconds since it last beat. */
  ageMs: number;
  /** True when it missed several beats in a row: it died without saying goodbye, or hangs. */
  isStale: boolean;
}

/** A stale record is kept this long after its last beat (so the metrics show it), then removed. */
export const FORGET_STALE_AFTER_MS = 3_600_000;

/** Missed beats after which a worker counts as stale (plus a fixed margin for a slow Redis round trip). */
export function staleAfterMs(beatEveryMs: number): number {
  return 3 * beatEveryMs + 2_000;
}

/** Reads and writes the heartbeats of one installation. */
export class RedisWorkerHeartbeats {
  /** Uses the app's connection; every record lives in one hash under the installation's hash tag. */
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Pick<RedisKeys, 'workerHeartbeats'>,
  ) {}

  /** Writes (or renews) a worker's record. */
  async beat(record: WorkerHeartbeat): Promise<void> {
    await this.redis.hset(this.keys.workerHeartbeats, record.id, JSON.stringify(record));
  }

  /** Removes a worker's record (a clean stop). */
  async remove(id: string): Promise<void> {
    await this.redis.hdel(this.keys.workerHeartbeats, id);
  }

  /**
   * Every known worker with its age, newest start first. Records older than an hour are removed; a record that is not
   * a heartbeat (left by another version) is skipped.
   */
  async list(now: Date): Promise<ObservedWorker[]> {
    const hash = await this.redis.hgetall(this.keys.workerHeartbeats);
    const workers: ObservedWorker[] = [];
    const forgotten: string[] = [];
    for (const [id, json] of Object.entries(hash)) {
      const record = parseHeartbeat(json);
      if (!record) continue;
      const ageMs = Math.max(0, now.getTime() - Date.parse(record.beatAt));
      if (ageMs > FORGET_STALE_AFTER_MS) {
        forgotten.push(id);
        continue;
      }
      workers.push({ ...record, ageMs, isStale: ageMs > staleAfterMs(record.beatEveryMs) });
    }
    if (forgotten.length > 0) await this.redis.hdel(this.keys.workerHeartbeats, ...forgotten);
    return workers.sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
  }
}

function parseHeartbeat(json: string): WorkerHeartbeat | undefined {
  try {
    const parsed = WorkerHeartbeatSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The container healthcheck's question: does the newest worker started on this host still beat? (An older record of
 * the same host is a process this container replaced; it stays stale until forgotten and does not count.)
 */
export function judgeHostWorker(
  workers: readonly ObservedWorker[],
  host: string,
): { isHealthy: boolean; worker?: ObservedWorker; reason: string } {
  const worker = workers.find((candidate) => candidate.host === host);
  if (!worker) return { isHealthy: false, reason: `no worker on ${host} has written a heartbeat` };
  const seconds = (worker.ageMs / 1000).toFixed(1);
  if (worker.isStale) {
    return {
      isHealthy: false,
      worker,
      reason: `worker ${worker.id} stopped beating ${seconds} s ago (expected every ${worker.beatEveryMs} ms)`,
    };
  }
  return { isHealthy: true, worker, reason: `worker ${worker.id} beat ${seconds} s ago` };
}
