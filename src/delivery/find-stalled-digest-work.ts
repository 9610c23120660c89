/**
 * Is anything still going to move a sending digest on? A digest stays `sending` until every recipient has an
 * outcome; if every job that could record those outcomes has failed for good (or vanished), nothing ever will. This
 * reads the ledger for the ranges that still have someone pending and asks the queues about their jobs, so
 * `digest status` can say so and point at `digest resume` (or `digest send`), which revive them.
 */
import type { Newsletter } from '../config.js';
import type { Digest, DigestStatus } from '../digests/digest.js';
import { AppError } from '../errors.js';
import type { FailedJob, QueueAdmin } from '../queue/queue-admin.js';
import type { JobStateCounts } from '../queue/queues.js';
import { planDeliveryRanges } from './fan-out-digest.js';
import { jobIdFor, type JobName } from '../queue/job-definitions.js';

/** What the check needs (the app provides all of it). */
export interface FindStalledDigestWorkDeps {
  digests: { get(id: string): Promise<Digest | undefined> };
  ledger: {
    readBitmaps(digestId: string): Promise<{ recipients: Buffer; sent: Buffer; failed: Buffer; skipped: Buffer }>;
    readPlan(digestId: string): Promise<{ batchSize: number | undefined; resumeCount: number }>;
  };
  queues: {
    countJobStates(name: JobName, jobIds: string[]): Promise<JobStateCounts>;
    admin: Pick<QueueAdmin, 'failedByIds'>;
  };
  /** The newsletters this process knows: a digest of another one cannot be delivered by workers configured alike. */
  config: { newsletters: Pick<Newsletter, 'id'>[] };
}

/** The work still outstanding for a digest, and whether anything is left to do it. */
export interface DigestWork {
  status: DigestStatus;
  /** Recipients with no outcome yet. */
  pendingRecipients: number;
  /** Delivery ranges with someone pending (each has one delivery job id for the digest's whole life). */
  pendingRanges: number;
  /** The states of those ranges' delivery jobs. */
  deliverJobs: JobStateCounts;
  /** The states of the digest's fan-out job and of its latest resume's. */
  fanOutJobs: JobStateCounts;
  /** The digest's jobs that failed for good, with their reasons (at most ten). */
  failedJobs: FailedJob[];
  /**
   * True when the digest is sending, someone is still pending (or fan-out never finished), and no fan-out or
   * delivery job is waiting, active or delayed: nothing will finish it without `digest resume`.
   */
  isStalled: boolean;
  /** One sentence for an operator when stalled: what would move it on (fixing the configuration first, if that is why). */
  hint?: string;
}

/** Counts the outstanding work of a digest (see the module comment). Throws `digest_not_found`. */
export async function findStalledDigestWork(
  deps: FindStalledDigestWorkDeps,
  input: { digestId: string },
): Promise<DigestWork> {
  const digest = await deps.digests.get(input.digestId);
  if (!digest) throw new AppError('digest_not_found', `no digest "${input.digestId}"`);
  const plan = await deps.ledger.readPlan(digest.id);
  const ranges =
    plan.batchSize === undefined
      ? []
      : planDeliveryRanges(await deps.ledger.readBitmaps(digest.id), plan.batchSize).filter((r) => r.pending > 0);
  const fanOutIds = [jobIdFor('fanout', { digestId: digest.id })];
  if (plan.resumeCount > 0) fanOutIds.push(jobIdFor('fanout', { digestId: digest.id, resume: plan.resumeCount }));
  const [deliverJobs, fanOutJobs] = await Promise.all([
    deps.queues.countJobStates(
      'deliver',
      ranges.map((range) => jobIdFor('deliver', { digestId: digest.id, fromId: range.fromId, toId: range.toId })),
    ),
    deps.queues.countJobStates('fanout', fanOutIds),
  ]);
  const failedJobs = await listFailedJobs(deps, digest.id, fanOutIds, ranges, deliverJobs.failed + fanOutJobs.failed);
  const pendingRecipients = ranges.reduce((sum, range) => sum + range.pending, 0);
  const isMoving = [deliverJobs, fanOutJobs].some((c) => c.waiting + c.active + c.delayed > 0);
  const isStalled =
    digest.status === 'sending' && !isMoving && (pendingRecipients > 0 || digest.fannedOutAt === undefined);
  const work: DigestWork = {
    status: digest.status,
    pendingRecipients,
    pendingRanges: ranges.length,
    deliverJobs,
    fanOutJobs,
    failedJobs,
    isStalled,
  };
  if (isStalled) {
    const failed = deliverJobs.failed + fanOutJobs.failed;
    const details = [
      `${pendingRecipients} recipient(s) pending`,
      ...(digest.fannedOutAt === undefined ? ['fan-out unfinished'] : []),
      ...(failed > 0 ? [`${failed} job(s) failed`] : []),
    ];
    const blocker = configurationProblem(deps, digest, failedJobs);
    work.hint =
      `digest "${digest.id}" is sending but no job is waiting, active or delayed to finish it ` +
      `(${details.join(', ')}): ` +
      (blocker
        ? `resuming cannot help until the configuration is fixed (${blocker}); fix it, restart the workers, then run \`letterpress digest resume ${digest.id}\``
        : `run \`letterpress digest resume ${digest.id}\``);
  }
  return work;
}

/** Job failures no retry can fix until someone changes the configuration (codes from `mapJobError`). */
const CONFIGURATION_FAILURE = /^(newsletter_not_found|config_invalid|template_invalid): /;

/** Why resuming would fail again, when it would: the newsletter unknown here, or a job failed on the configuration. */
export function configurationProblem(
  deps: Pick<FindStalledDigestWorkDeps, 'config'>,
  digest: Pick<Digest, 'newsletterId'>,
  failedJobs: readonly FailedJob[],
): string | undefined {
  if (!deps.config.newsletters.some((newsletter) => newsletter.id === digest.newsletterId)) {
    return `newsletter "${digest.newsletterId}" is not in this configuration (LETTERPRESS_CONFIG)`;
  }
  return failedJobs.find((job) => CONFIGURATION_FAILURE.test(job.reason))?.reason;
}

const MAX_FAILED_JOBS = 10;

async function listFailedJobs(
  deps: FindStalledDigestWorkDeps,
  digestId: string,
  fanOutIds: string[],
  ranges: { fromId: number; toId: number }[],
  failedCount: number,
): Promise<FailedJob[]> {
  if (failedCount === 0) return [];
  const fanOut = await deps.queues.admin.failedByIds('fanout', fanOutIds);
  const deliverIds = ranges.map((range) => jobIdFor('deliver', { digestId, fromId: range.fromId, toId: range.toId }));
  const deliver: FailedJob[] = [];
  for (let start = 0; start < deliverIds.length && deliver.length < MAX_FAILED_JOBS; start += 100) {
    deliver.push(...(await deps.queues.admin.failedByIds('deliver', deliverIds.slice(start, start + 100))));
  }
  return [...fanOut, ...deliver].slice(0, MAX_FAILED_JOBS);
}
