/**
 * Operating the queues, on BullMQ: each queue's job counts by state, whether it is paused, how many workers listen,
 * its completed and failed totals and recent rates (BullMQ's own per-minute metrics, which every worker records in
 * Redis), the failed jobs with their reasons, retrying them, pausing and resuming. The ops use cases, the metrics and
 * the CLI read the queues through this, never through BullMQ directly.
 */
import type { Job, Metrics, Queue } from 'bullmq';

/** The job states counted for every queue (`waiting` holds the jobs of a paused queue too). */
export const QUEUE_JOB_STATES = [
  'waiting',
  'prioritized',
  'waiting-children',
  'active',
  'delayed',
  'failed',
  'completed',
] as const;
export type QueueJobState = (typeof QUEUE_JOB_STATES)[number];

/** One queue as ops see it. */
export interface QueueFigures {
  name: string;
  counts: Record<QueueJobState, number>;
  isPaused: boolean;
  /** Workers connected to the queue; undefined when Redis forbids CLIENT LIST (some managed services). */
  workers: number | undefined;
  /** Jobs completed and failed for good since metrics began (kept by BullMQ in Redis). */
  completedTotal: number;
  failedTotal: number;
  /** Jobs per minute over the last five minutes. */
  completedPerMinute: number;
  failedPerMinute: number;
}

/** A failed job and why it failed. */
export interface FailedJob {
  queue: string;
  id: string;
  name: string;
  /** The digest it worked for, when its payload names one. */
  digestId?: string;
  reason: string;
  attemptsMade: number;
  failedAt?: string;
}

/** Options of `drain`. */
export interface DrainOptions {
  /** Give up waiting after this long (the queue stays paused). @defaultValue 600000 */
  timeoutMs?: number;
  /** How often the active jobs are counted. @defaultValue 250 */
  pollMs?: number;
}

/** How a drain ended. */
export interface DrainReport {
  name: string;
  /** True when no job was active any more before the timeout. */
  isDrained: boolean;
  waitedMs: number;
  /** Jobs still active (0 when drained). */
  active: number;
  /** Jobs kept for the resume: waiting (with the paused ones), prioritized and delayed. */
  waiting: number;
  delayed: number;
}

/** What ops can do with the queues. */
export interface QueueAdmin {
  /** Every queue's name, in registry order. */
  names: readonly string[];
  describe(name: string): Promise<QueueFigures>;
  /** The newest failed jobs of a queue, at most `limit`. */
  listFailed(name: string, limit: number): Promise<FailedJob[]>;
  /** Failed jobs of a queue by their ids (missing or not failed ones are left out). */
  failedByIds(name: string, jobIds: readonly string[]): Promise<FailedJob[]>;
  /** Moves every failed job of the queue back to waiting, attempts reset; returns how many there were. */
  retryFailed(name: string): Promise<number>;
  /** Pauses a queue for every worker: jobs wait, running ones finish. */
  pause(name: string): Promise<void>;
  resume(name: string): Promise<void>;
  /**
   * Pauses a queue for every worker, then waits until none of its jobs is active: running jobs finish (a delivery
   * batch sends its messages, records each outcome and completes or hands its rest back), no new one starts. Waiting
   * and delayed jobs are kept for `resume`; nothing is deleted (unlike BullMQ's `Queue.drain`).
   */
  drain(name: string, options?: DrainOptions): Promise<DrainReport>;
}

const RATE_WINDOW_MINUTES = 5;

/**
 * Jobs per minute over the last `minutes` minutes from BullMQ's metrics: `data[i]` counts the minute `i + 1` before the
 * minute of `prevTS`, and `count - prevCount` the jobs of that minute itself (BullMQ moves the checkpoint on the
 * first job of each new minute, so a queue that went quiet has an old `prevTS`).
 */
export function recentRatePerMinute(
  metrics: Pick<Metrics, 'meta' | 'data'>,
  now: Date,
  minutes = RATE_WINDOW_MINUTES,
): number {
  const nowMinute = Math.floor(now.getTime() / 60_000);
  const prevTS = Number(metrics.meta.prevTS);
  if (!Number.isFinite(prevTS) || prevTS <= 0) return 0;
  const checkpointMinute = Math.floor(prevTS / 60_000);
  let jobs = 0;
  if (nowMinute - checkpointMinute < minutes) jobs += Math.max(0, metrics.meta.count - metrics.meta.prevCount);
  metrics.data.forEach((count, index) => {
    const minute = checkpointMinute - 1 - index;
    if (nowMinute - minute < minutes) jobs += Number(count) || 0;
  });
  return jobs / minutes;
}

/** Builds the admin over a set of queues keyed by name. */
export function createQueueAdmin(queues: Record<string, Queue>, clock: () => Date = () => new Date()): QueueAdmin {
  const queueNamed = (name: string): Queue => {
    const queue = queues[name];
    if (!queue) throw new Error(`no queue named ${name}`);
    return queue;
  };
  return {
    names: Object.keys(queues),
    async describe(name) {
      const queue = queueNamed(name);
      const [counts, isPaused, workers, completed, failed] = await Promise.all([
        queue.getJobCounts(...QUEUE_JOB_STATES),
        queue.isPaused(),
        queue.getWorkersCount().catch(() => undefined),
        queue.getMetrics('completed', 0, RATE_WINDOW_MINUTES),
        queue.getMetrics('failed', 0, RATE_WINDOW_MINUTES),
      ]);
      const now = clock();
      return {
        name,
        counts: Object.fromEntries(QUEUE_JOB_STATES.map((state) => [state, counts[state] ?? 0])) as Record<
          QueueJobState,
          number
        >,
        isPaused,
        workers,
        completedTotal: completed.meta.count,
        failedTotal: failed.meta.count,
        completedPerMinute: recentRatePerMinute(completed, now),
        failedPerMinute: recentRatePerMinute(failed, now),
      };
    },
    async listFailed(name, limit) {
      const jobs = await queueNamed(name).getFailed(0, Math.max(0, limit - 1));
      return jobs.flatMap((job) => (job ? [describeFailed(name, job as Job)] : []));
    },
    async failedByIds(name, jobIds) {
      const queue = queueNamed(name);
      const jobs = await Promise.all(jobIds.map((id) => queue.getJob(id)));
      const failed: FailedJob[] = [];
      for (const job of jobs) {
        if (job && job.finishedOn !== undefined && job.failedReason && (await job.isFailed())) {
          failed.push(describeFailed(name, job));
        }
      }
      return failed;
    },
    async retryFailed(name) {
      const queue = queueNamed(name);
      const count = await queue.getFailedCount();
      if (count > 0) await queue.retryJobs({ state: 'failed' });
      return count;
    },
    pause: (name) => queueNamed(name).pause(),
    resume: (name) => queueNamed(name).resume(),
    drain: (name, options) => drainQueue(name, queueNamed(name), options),
  };
}

/** Pause, then count active jobs until there are none or the time is up (see `QueueAdmin.drain`). */
async function drainQueue(name: string, queue: Queue, options: DrainOptions = {}): Promise<DrainReport> {
  const timeoutMs = options.timeoutMs ?? 600_000;
  const pollMs = options.pollMs ?? 250;
  const started = Date.now();
  await queue.pause();
  let active = await queue.getActiveCount();
  while (active > 0 && Date.now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    active = await queue.getActiveCount();
  }
  const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed');
  return {
    name,
    isDrained: active === 0,
    waitedMs: Date.now() - started,
    active,
    waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
    delayed: counts.delayed ?? 0,
  };
}

/** The digest a job works for, when its payload names one (for log lines and listings; nothing else trusts it). */
export function digestIdOfJob(job: Pick<Job, 'data'> | undefined): string | undefined {
  const data: unknown = job?.data;
  if (typeof data !== 'object' || data === null) return undefined;
  const digestId = (data as Record<string, unknown>).digestId;
  return typeof digestId === 'string' ? digestId.slice(0, 100) : undefined;
}

function describeFailed(queue: string, job: Job): FailedJob {
  const digestId = digestIdOfJob(job);
  return {
    queue,
    id: String(job.id),
    name: job.name,
    ...(digestId ? { digestId } : {}),
    reason: job.failedReason || 'no reason recorded',
    attemptsMade: job.attemptsMade,
    ...(job.finishedOn ? { failedAt: new Date(job.finishedOn).toISOString() } : {}),
  };
}
