/**
 * The BullMQ edge of delivery: one Queue per queue name under `keys.bullPrefix`, type-safe enqueueing from the job
 * registry, and "revive", which makes sure a job exists and will run soon (used when a digest resumes).
 */
import { Queue, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
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

/** Options for the queues. */
export interface DeliveryQueuesOptions {
  /** A connection dedicated to BullMQ (`maxRetriesPerRequest: null`); shared by the queues, duplicated by workers. */
  connection: Redis;
  /** BullMQ prefix: `keys.bullPrefix`. */
  prefix: string;
  /** Per-job overrides of the registry's default options (tests shorten backoffs). @defaultValue {} */
  jobOptions?: Partial<Record<JobName, JobsOptions>>;
}

/** The queues and the operations the use cases need from them. */
export interface DeliveryQueues {
  /** Every queue of the registry by name (workers attach to these names; ops and the dashboard list them all). */
  queues: Record<QueueName, Queue>;
  /** Counts, failed jobs, retry, pause and resume, for ops. */
  admin: QueueAdmin;
  /** The connection the queues share; workers duplicate it. */
  connection: Redis;
  prefix: string;
  /** Enqueues one job with its deterministic id; a job with that id that still exists makes this a no-op. */
  enqueue<N extends JobName>(name: N, payload: JobPayload<N>): Promise<string>;
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

  return {
    queues,
    admin: createQueueAdmin(queues),
    connection: options.connection,
    prefix: options.prefix,
    optionsFor,
    async enqueue(name, payload) {
      const entry = bulkEntry(name, payload);
      await queueFor(name).add(entry.name, entry.data, entry.opts);
      return entry.opts.jobId;
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
    async close() {
      await Promise.all(Object.values(queues).map((queue) => queue.close()));
    },
  };
}

/** The id a job gets (re-exported for callers that only need the id). */
export { jobIdFor };
