/**
 * The BullMQ edge of delivery: one Queue per queue name under `keys.bullPrefix`, type-safe enqueueing from the job
 * registry, and "revive", which makes sure a job exists and will run soon (used when a digest resumes).
 */
import { Queue, type Job, type JobsOptions, type JobType } from 'bullmq';
import {
  jobDefinitions,
  jobIdFor,
  QueueName,
  type JobDefinition,
  type JobName,
  type JobPayload,
} from './job-definitions.js';
import type { z } from 'zod';
import { createQueueAdmin, type QueueAdmin } from './queue-admin.js';
import type { RedisClient } from '../redis.js';

/** Options for the queues. */
export interface DeliveryQueuesOptions {
  /** A connection dedicated to BullMQ (`maxRetriesPerRequest: null`); shared by the queues, duplicated by workers. */
  connection: RedisClient;
  /** BullMQ prefix: `keys.bullPrefix`. */
  prefix: string;
  /** Per-job overrides of the registry's default options (tests shorten backoffs). @defaultValue {} */
  jobOptions?: Partial<Record<JobName, JobsOptions>>;
}

/** A repeating job kept by BullMQ (a job scheduler): every N milliseconds, or on a cron line in a time zone. */
export type RepeatRule = { everyMs: number } | { cron: string; timeZone: string };

/** A job scheduler as BullMQ holds it. */
export interface ScheduledJob {
  id: string;
  /** When it next runs (ms since the epoch), if known. */
  next?: number;
}

/** The queues and the operations the use cases need from them. */
export interface DeliveryQueues {
  /** Every queue of the registry by name (workers attach to these names; ops and the dashboard list them all). */
  queues: Record<QueueName, Queue>;
  /** Counts, failed jobs, retry, pause and resume, for ops. */
  admin: QueueAdmin;
  /** The connection the queues share; workers duplicate it. */
  connection: RedisClient;
  prefix: string;
  /**
   * Enqueues one job with its deterministic id, optionally to run after `delayMs`; a job with that id that still
   * exists makes this a no-op.
   */
  enqueue<N extends JobName>(name: N, payload: JobPayload<N>, options?: { delayMs?: number }): Promise<string>;
  /** Removes a job that has not started (a waiting or delayed one); true when it was there to remove. */
  removeJob(name: JobName, jobId: string): Promise<boolean>;
  /** Creates or updates a job scheduler that enqueues `name` with `payload` by the rule (idempotent). */
  upsertScheduler<N extends JobName>(
    schedulerId: string,
    rule: RepeatRule,
    name: N,
    payload: JobPayload<N>,
  ): Promise<void>;
  /** The job schedulers of the queue `name` runs on. */
  listSchedulers(name: JobName): Promise<ScheduledJob[]>;
  /** Removes a job scheduler (its pending next job too). */
  removeScheduler(name: JobName, schedulerId: string): Promise<void>;
  /** Enqueues many jobs in addBulk chunks. */
  enqueueMany<N extends JobName>(name: N, payloads: JobPayload<N>[]): Promise<void>;
  /**
   * Makes sure each job will run soon: adds it when missing, promotes it when delayed, retries it when failed, and
   * leaves it alone when waiting or active (so no two jobs ever hold the same work).
   */
  reviveMany<N extends JobName>(
    name: N,
    payloads: JobPayload<N>[],
  ): Promise<{ added: number; promoted: number; retried: number; untouched: number }>;
  /**
   * How many of these jobs are in each state (`waiting` includes prioritized ones; `missing`: no such job, e.g.
   * removed on completion).
   */
  countJobStates(name: JobName, jobIds: string[]): Promise<JobStateCounts>;
  /** The effective default options of a job (registry defaults plus overrides). */
  optionsFor(name: JobName): JobsOptions;
  /**
   * Jobs (waiting, delayed, failed, completed, ...) whose payload names the subscriber or whose payload, failure or
   * result mentions the address, in every queue; with `remove`, those jobs (except running ones) and the queue events
   * that mention the address are deleted. Returns how many jobs were found (and removed).
   */
  findJobsMentioning(
    subscriberId: number | undefined,
    email: string,
    options: { remove: boolean },
  ): Promise<{ jobs: number; removed: number; events: number }>;
  /** Makes a job repeat every `everyMs` (one scheduler per job name, shared by every process). */
  repeat<N extends JobName>(name: N, payload: JobPayload<N>, everyMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Jobs counted by state. */
export interface JobStateCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  missing: number;
}

const ADD_BULK_CHUNK = 500;
/** Job states searched when looking for a person's traces (everything but `active`, which cannot be removed). */
const SEARCHED_STATES: JobType[] = ['waiting', 'delayed', 'prioritized', 'failed', 'completed', 'waiting-children'];

/** Whether a job names the subscriber (`subscriberId` in its payload) or mentions the address anywhere. */
function mentions(job: Job, subscriberId: number | undefined, address: string): boolean {
  const data = job.data as { subscriberId?: unknown } | undefined;
  if (subscriberId !== undefined && data?.subscriberId === subscriberId) return true;
  const text = [
    JSON.stringify(job.data),
    job.failedReason,
    JSON.stringify(job.stacktrace),
    JSON.stringify(job.returnvalue),
  ]
    .join('\n')
    .toLowerCase();
  return text.includes(address);
}

/** Creates one queue per name of the registry (`QueueName`). */
export function createDeliveryQueues(options: DeliveryQueuesOptions): DeliveryQueues {
  const optionsFor = (name: JobName): JobsOptions => ({
    ...jobDefinitions[name].defaultJobOptions,
    ...options.jobOptions?.[name],
  });
  const queues = Object.fromEntries(
    Object.values(QueueName).map((name) => [
      name,
      new Queue(name, { connection: options.connection, prefix: options.prefix }),
    ]),
  ) as Record<QueueName, Queue>;
  for (const queue of Object.values(queues)) queue.on('error', () => {});
  const queueFor = (name: JobName): Queue => queues[jobDefinitions[name].queue];
  const bulkEntry = <N extends JobName>(name: N, payload: JobPayload<N>) => {
    const definition = jobDefinitions[name] as JobDefinition<z.ZodType>;
    const data = definition.schema.parse(payload) as Record<string, unknown>;
    return { name, data, opts: { ...optionsFor(name), jobId: definition.jobId(data) } };
  };

  const upsertScheduler: DeliveryQueues['upsertScheduler'] = async (schedulerId, rule, name, payload) => {
    const { data, opts } = bulkEntry(name, payload);
    const { jobId: _jobId, ...template } = opts;
    const repeat = 'everyMs' in rule ? { every: rule.everyMs } : { pattern: rule.cron, tz: rule.timeZone };
    await queueFor(name).upsertJobScheduler(schedulerId, repeat, { name, data, opts: template });
  };

  return {
    queues,
    admin: createQueueAdmin(queues),
    connection: options.connection,
    prefix: options.prefix,
    optionsFor,
    async enqueue(name, payload, enqueueOptions = {}) {
      const entry = bulkEntry(name, payload);
      const delay = Math.max(0, Math.round(enqueueOptions.delayMs ?? 0));
      await queueFor(name).add(entry.name, entry.data, delay > 0 ? { ...entry.opts, delay } : entry.opts);
      return entry.opts.jobId;
    },
    async removeJob(name, jobId) {
      return (await queueFor(name).remove(jobId)) === 1;
    },
    upsertScheduler,
    async listSchedulers(name) {
      const found = await queueFor(name).getJobSchedulers(0, -1);
      return found.map((scheduler) => ({ id: scheduler.key, ...(scheduler.next ? { next: scheduler.next } : {}) }));
    },
    async removeScheduler(name, schedulerId) {
      await queueFor(name).removeJobScheduler(schedulerId);
    },
    async repeat(name, payload, everyMs) {
      await upsertScheduler(jobIdFor(name, payload), { everyMs }, name, payload);
    },
    async enqueueMany(name, payloads) {
      for (let start = 0; start < payloads.length; start += ADD_BULK_CHUNK) {
        const entries = payloads.slice(start, start + ADD_BULK_CHUNK).map((payload) => bulkEntry(name, payload));
        await queueFor(name).addBulk(entries);
      }
    },
    async reviveMany(name, payloads) {
      const counts = { added: 0, promoted: 0, retried: 0, untouched: 0 };
      const queue = queueFor(name);
      for (let start = 0; start < payloads.length; start += ADD_BULK_CHUNK) {
        const chunk = payloads.slice(start, start + ADD_BULK_CHUNK);
        await Promise.all(
          chunk.map(async (payload) => {
            const entry = bulkEntry(name, payload);
            const job: Job | undefined = await queue.getJob(entry.opts.jobId);
            const state = job ? await job.getState() : 'unknown';
            if (!job || state === 'unknown') {
              await queue.add(entry.name, entry.data, entry.opts);
              counts.added += 1;
            } else if (state === 'delayed') {
              await job.promote().catch(() => undefined); // it may have just become active: then it runs anyway
              counts.promoted += 1;
            } else if (state === 'failed' || state === 'completed') {
              // The payload as this version writes it: a job that failed on a payload left by an older version runs.
              await job.updateData(entry.data);
              await job.retry(state, { resetAttemptsMade: true, resetAttemptsStarted: true });
              counts.retried += 1;
            } else {
              counts.untouched += 1;
            }
          }),
        );
      }
      return counts;
    },
    async countJobStates(name, jobIds) {
      const counts: JobStateCounts = { waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0, missing: 0 };
      const queue = queueFor(name);
      for (let start = 0; start < jobIds.length; start += ADD_BULK_CHUNK) {
        const states = await Promise.all(
          jobIds.slice(start, start + ADD_BULK_CHUNK).map((id) => queue.getJobState(id)),
        );
        for (const state of states) {
          if (state === 'unknown') counts.missing += 1;
          else if (state === 'prioritized' || state === 'waiting-children') counts.waiting += 1;
          else counts[state] += 1;
        }
      }
      return counts;
    },
    async findJobsMentioning(subscriberId, email, { remove }) {
      const address = email.trim().toLowerCase();
      const counts = { jobs: 0, removed: 0, events: 0 };
      for (const queue of Object.values(queues)) {
        const found: Job[] = [];
        for (let start = 0; ; start += 1000) {
          const page = await queue.getJobs(SEARCHED_STATES, start, start + 999, true);
          found.push(...page.filter((job) => job && mentions(job, subscriberId, address)));
          if (page.length < 1000) break;
        }
        counts.jobs += found.length;
        if (!remove) continue;
        for (const job of found) {
          if (
            await job.remove().then(
              () => true,
              () => false,
            )
          )
            counts.removed += 1;
        }
        counts.events += await removeEventsMentioning(
          options.connection,
          `${options.prefix}:${queue.name}:events`,
          address,
        );
      }
      return counts;
    },
    async close() {
      await Promise.all(Object.values(queues).map((queue) => queue.close()));
    },
  };
}

/** The id a job gets (re-exported for callers that only need the id). */
export { jobIdFor };

/** Deletes the entries of a queue's event stream that mention the address (a failure reason quoting it). */
async function removeEventsMentioning(redis: RedisClient, stream: string, address: string): Promise<number> {
  let removed = 0;
  let from = '-';
  for (;;) {
    const entries = await redis.xrange(stream, from, '+', 'COUNT', 1000);
    const matching = entries
      .filter(([, fields]) => fields.join('\n').toLowerCase().includes(address))
      .map(([id]) => id);
    if (matching.length > 0) removed += await redis.xdel(stream, ...matching);
    if (entries.length < 1000) return removed;
    from = `(${entries[entries.length - 1]?.[0] ?? '+'}`;
  }
}
