/**
 * Background jobs as definitions: for each job, its queue, its zod payload schema, its default options and a
 * deterministic job id. One registry; `JobPayload<'deliver'>` and friends keep enqueueing type-safe. BullMQ dedupes
 * on job id, so enqueueing the same work twice is a no-op while the first job exists.
 */
import { z } from 'zod';
import type { JobsOptions } from 'bullmq';
import { DigestSchema } from '../digests/digest.js';

/** Queue names. `transactional` (confirmation emails) is reserved; its job arrives with the subscribe flow. */
export const QueueName = {
  fanout: 'fanout',
  deliver: 'deliver',
  transactional: 'transactional',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

const DigestIdSchema = DigestSchema.shape.id;

/** Fan-out: snapshot the digest's recipients and enqueue one delivery job per id range. */
export const FanOutJobSchema = z.object({
  digestId: DigestIdSchema,
  /** Set by `resumeDigest`: the resume count. Such a run also revives delayed or failed delivery jobs. */
  resume: z.number().int().min(1).optional(),
});
export type FanOutJob = z.infer<typeof FanOutJobSchema>;

/** Delivery of one id range of a digest's recipients (ids, never addresses, travel in the queue). */
export const DeliverJobSchema = z
  .object({
    digestId: DigestIdSchema,
    fromId: z.number().int().min(1),
    toId: z.number().int().min(1),
    /** How often the job was handed back because the relay was unavailable in a row (sets the next delay). */
    deferrals: z.number().int().min(0).default(0),
  })
  .refine((job) => job.toId >= job.fromId, { message: 'toId must not be below fromId', path: ['toId'] });
export type DeliverJob = z.infer<typeof DeliverJobSchema>;

/** A job definition: where it runs, what it carries, how it retries and how its id is made. */
export interface JobDefinition<S extends z.ZodType> {
  queue: QueueName;
  schema: S;
  defaultJobOptions: JobsOptions;
  /** Deterministic id (BullMQ forbids ':' in custom ids). */
  jobId(payload: z.infer<S>): string;
}

/** Every job Letterpress runs, keyed by job name. */
export const jobDefinitions = {
  fanout: {
    queue: QueueName.fanout,
    schema: FanOutJobSchema,
    defaultJobOptions: {
      attempts: 10,
      backoff: { type: 'exponential', delay: 1_000 },
      // Removed on completion so a later `digest send` of a digest still sending can run fan-out again (it only
      // enqueues ranges with recipients still pending). Failures stay a week for inspection.
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    },
    jobId: (payload: FanOutJob) =>
      payload.resume === undefined
        ? `fanout-${payload.digestId}`
        : `fanout-${payload.digestId}-resume-${payload.resume}`,
  },
  deliver: {
    queue: QueueName.deliver,
    schema: DeliverJobSchema,
    defaultJobOptions: {
      // Attempts are spent only on transient refusals of some recipients; a relay that is down hands the job back
      // without spending any (see deliverBatch). The last attempt records the still-refused recipients as failed.
      attempts: 8,
      backoff: { type: 'exponential', delay: 5_000 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    },
    // One id per range for the digest's whole life: two jobs can never work on the same recipients at once.
    jobId: (payload: DeliverJob) => `deliver-${payload.digestId}-${payload.fromId}`,
  },
} satisfies Record<string, JobDefinition<z.ZodType>>;

/** A job name in the registry. */
export type JobName = keyof typeof jobDefinitions;
/** The payload type of a job, as enqueued (defaults may be left out). */
export type JobPayload<N extends JobName> = z.input<(typeof jobDefinitions)[N]['schema']>;
/** The payload type of a job, as parsed by its worker. */
export type ParsedJobPayload<N extends JobName> = z.infer<(typeof jobDefinitions)[N]['schema']>;

/** Parses a job's payload with its schema; the error names the job and every failing field. */
export function parseJobPayload<N extends JobName>(
  name: N,
  data: unknown,
): { success: true; data: ParsedJobPayload<N> } | { success: false; reason: string } {
  const result = jobDefinitions[name].schema.safeParse(data);
  if (result.success) return { success: true, data: result.data as ParsedJobPayload<N> };
  const fields = result.error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
  return { success: false, reason: `${name} job payload does not match its schema: ${fields}` };
}

/** The deterministic id of a job. */
export function jobIdFor<N extends JobName>(name: N, payload: JobPayload<N>): string {
  const definition = jobDefinitions[name] as JobDefinition<z.ZodType>;
  return definition.jobId(definition.schema.parse(payload));
}
