/**
 * Background jobs as definitions: for each job, its queue, its zod payload schema, its default options and a
 * deterministic job id. One registry; `JobPayload<'deliver'>` and friends keep enqueueing type-safe. BullMQ dedupes
 * on job id, so enqueueing the same work twice is a no-op while the first job exists.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { JobsOptions } from 'bullmq';
import { NewsletterSchema } from '../config.js';
import { DigestSchema } from '../digests/digest.js';

/**
 * Queue names. `transactional` carries one-off messages (sign-up confirmations, welcome messages, an editor's test
 * sends) on a queue and worker of their own, so they never wait behind a digest's delivery jobs. `automation`: what
 * runs on its own: feed polls, newsletter schedules and scheduled sends.
 */
export const QueueName = {
  fanout: 'fanout',
  deliver: 'deliver',
  transactional: 'transactional',
  automation: 'automation',
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

/** A scheduled digest's moment: sent only if it is still scheduled for exactly this time. */
export const ScheduledSendJobSchema = z.object({
  digestId: DigestIdSchema,
  scheduledFor: z.string().datetime({ offset: true }),
});
export type ScheduledSendJob = z.infer<typeof ScheduledSendJobSchema>;

/** One poll of a configured feed. */
export const FeedPollJobSchema = z.object({
  /** `feedIdFor(url)`: names the feed's state and its scheduler. */
  feedId: z.string().regex(/^[a-f0-9]{16}$/),
  url: z.string().url(),
  /** The configured interval, the base of the backoff after failures. */
  intervalMs: z.number().int().min(1000),
});
export type FeedPollJob = z.infer<typeof FeedPollJobSchema>;

/** One run of a newsletter's schedule. */
export const NewsletterRunJobSchema = z.object({
  newsletterId: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/),
});
export type NewsletterRunJob = z.infer<typeof NewsletterRunJobSchema>;
const SubscriberIdSchema = z.number().int().positive();

/** A sign-up confirmation: the reader's open request, identified by its time (the job carries no address). */
export const ConfirmationMessageSchema = z.object({
  kind: z.literal('confirmation'),
  subscriberId: SubscriberIdSchema,
  /** The request's time; a confirmation whose request was confirmed, renewed or purged since is not sent. */
  requestedAt: z.string().datetime({ offset: true }),
});

/** A newsletter's welcome message, sent once a reader joins it (when the newsletter has one). */
export const WelcomeMessageSchema = z.object({
  kind: z.literal('welcome'),
  subscriberId: SubscriberIdSchema,
  newsletterId: NewsletterSchema.shape.id,
  /** When the reader joined: a later rejoin is another welcome, with its own Message-ID. */
  joinedAt: z.string().datetime({ offset: true }),
});

/**
 * An editor's test send of an issue: one copy to one address they typed, its subject marked as a test, never recorded
 * as a delivery. The address travels in the job (an editor's own, gone with the job); a digest's readers' never do.
 */
export const TestMessageSchema = z.object({
  kind: z.literal('test'),
  digestId: DigestIdSchema,
  email: z.string().email().max(254),
  /** Names the request: asking twice sends twice, a retried job sends the same Message-ID. */
  requestId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/),
  /** Who asked (an editor's name), for the log. */
  requestedBy: z.string().min(1).max(64),
});

/**
 * A transactional message: a `kind` naming the message, plus the data to build it when it is sent. Readers'
 * messages carry a subscriber id, never an address, so an erased reader leaves nothing in a payload. A new kind is
 * one more member of this union and one more case in `buildTransactionalMessage`.
 */
export const TransactionalJobSchema = z.discriminatedUnion('kind', [
  ConfirmationMessageSchema,
  WelcomeMessageSchema,
  TestMessageSchema,
]);
export type TransactionalJob = z.infer<typeof TransactionalJobSchema>;
/** The kinds of transactional message. */
export type TransactionalKind = TransactionalJob['kind'];

/** Purging sign-ups nobody confirmed in time (a repeating job on the transactional queue). */
export const PurgeRequestsJobSchema = z.object({});

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
  'scheduled-send': {
    queue: QueueName.automation,
    schema: ScheduledSendJobSchema,
    defaultJobOptions: {
      attempts: 10,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    },
    jobId: (payload: ScheduledSendJob) => `scheduled-${payload.digestId}-${Date.parse(payload.scheduledFor)}`,
  },
  'feed-poll': {
    queue: QueueName.automation,
    schema: FeedPollJobSchema,
    // A failed poll is recorded in the feed's state and backed off there; the job itself never retries.
    defaultJobOptions: { attempts: 1, removeOnComplete: true, removeOnFail: { age: 24 * 3600 } },
    jobId: (payload: FeedPollJob) => `feed-poll-${payload.feedId}`,
  },
  'newsletter-run': {
    queue: QueueName.automation,
    schema: NewsletterRunJobSchema,
    defaultJobOptions: {
      attempts: 5,
      backoff: { type: 'exponential', delay: 5_000 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    },
    jobId: (payload: NewsletterRunJob) => `newsletter-run-${payload.newsletterId}`,
  },
  transactional: {
    queue: QueueName.transactional,
    schema: TransactionalJobSchema,
    defaultJobOptions: {
      // A relay that is down for a while delays a confirmation, it does not lose it: about 40 minutes of retries.
      attempts: 10,
      backoff: { type: 'exponential', delay: 5_000 },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    },
    // The same message asked for twice while the first is queued is sent once. The id is a hash of the payload, so it
    // names no one.
    jobId: (payload: TransactionalJob) =>
      `tx-${payload.kind}-${createHash('sha256').update(JSON.stringify(payload)).digest('hex').slice(0, 32)}`,
  },
  purgeRequests: {
    queue: QueueName.transactional,
    schema: PurgeRequestsJobSchema,
    defaultJobOptions: {
      attempts: 3,
      backoff: { type: 'fixed', delay: 60_000 },
      removeOnComplete: true,
      removeOnFail: true,
    },
    jobId: () => 'purge-requests',
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
