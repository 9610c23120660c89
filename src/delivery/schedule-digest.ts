/**
 * Scheduling: a draft is frozen as `scheduled` with its time, and a delayed `scheduled-send` job named after that
 * time sends it then. Unscheduling makes it a draft again (editable) and drops the job; a job that still runs finds
 * the digest no longer scheduled for its time and does nothing, so a digest is never sent by a schedule it left.
 */
import type { Config, Newsletter } from '../config.js';
import { AppError } from '../errors.js';
import { freezeDigest, type FreezeDigestDeps } from '../digests/freeze-digest.js';
import type { Digest, DigestStatus } from '../digests/digest.js';
import type { Logger } from '../logger.js';
import type { JobName, JobPayload } from '../queue/job-definitions.js';
import { jobIdFor } from '../queue/job-definitions.js';

/** What scheduling needs (the app provides all of it). */
export interface ScheduleDigestDeps {
  digests: FreezeDigestDeps['digests'] & {
    unfreeze(
      digest: Pick<Digest, 'id' | 'newsletterId'>,
      options: { from: DigestStatus[]; to: 'draft' | 'cancelled'; updatedBy: string },
    ): Promise<DigestStatus | undefined>;
  };
  articles: FreezeDigestDeps['articles'];
  queues: {
    enqueue<N extends JobName>(name: N, payload: JobPayload<N>, options?: { delayMs?: number }): Promise<string>;
    removeJob(name: JobName, jobId: string): Promise<boolean>;
  };
  clock: () => Date;
  logger: Logger;
}

/** How far ahead a digest may be scheduled. */
export const LONGEST_SCHEDULE_MS = 366 * 24 * 3600 * 1000;

/** Input of `scheduleDigest`. */
export interface ScheduleDigestInput {
  digestId: string;
  newsletter: Newsletter;
  site: Config['site'];
  at: Date;
  by: string;
  /** The draft's revision the editor saw; a draft changed since is refused. */
  expectedRevision?: number;
}

/**
 * Freezes a draft as scheduled for `at` and enqueues its send. Throws `input_invalid` for a time in the past or more
 * than a year ahead, `digest_state` for a digest that is not a draft.
 */
export async function scheduleDigest(deps: ScheduleDigestDeps, input: ScheduleDigestInput): Promise<Digest> {
  const now = deps.clock();
  const delayMs = input.at.getTime() - now.getTime();
  if (!Number.isFinite(delayMs) || delayMs <= 0) {
    throw new AppError('input_invalid', `at: ${input.at.toISOString()} has passed; choose a time in the future`);
  }
  if (delayMs > LONGEST_SCHEDULE_MS) throw new AppError('input_invalid', 'at: more than a year ahead');
  const scheduledFor = new Date(Math.round(input.at.getTime() / 1000) * 1000);
  const { digest } = await freezeDigest(deps, {
    digestId: input.digestId,
    newsletter: input.newsletter,
    site: input.site,
    target: 'scheduled',
    scheduledFor,
    by: input.by,
    expectedRevision: input.expectedRevision,
  });
  try {
    await deps.queues.enqueue(
      'scheduled-send',
      { digestId: digest.id, scheduledFor: scheduledFor.toISOString() },
      { delayMs: scheduledFor.getTime() - deps.clock().getTime() },
    );
  } catch (error) {
    // Without its job the digest would wait forever: take it back to a draft and report the failure.
    await deps.digests.unfreeze(digest, { from: ['scheduled'], to: 'draft', updatedBy: input.by });
    throw error;
  }
  deps.logger.info({ digestId: digest.id, scheduledFor: digest.scheduledFor, by: input.by }, 'digest scheduled');
  return digest;
}

/** Takes a scheduled digest back to a draft (to edit or send it otherwise) and removes its pending send. */
export async function unscheduleDigest(
  deps: ScheduleDigestDeps,
  input: { digestId: string; by: string },
): Promise<Digest> {
  const digest = await deps.digests.get(input.digestId);
  if (!digest) throw new AppError('digest_not_found', `no digest "${input.digestId}"`);
  const previous = await deps.digests.unfreeze(digest, { from: ['scheduled'], to: 'draft', updatedBy: input.by });
  if (previous !== 'scheduled') {
    throw new AppError(
      'digest_state',
      `digest "${digest.id}" is ${previous ?? 'gone'}: only a scheduled digest can be unscheduled`,
    );
  }
  if (digest.scheduledFor) {
    const payload = { digestId: digest.id, scheduledFor: digest.scheduledFor };
    await deps.queues.removeJob('scheduled-send', jobIdFor('scheduled-send', payload)).catch(() => false);
  }
  deps.logger.info({ digestId: digest.id, by: input.by }, 'digest unscheduled');
  const after = await deps.digests.get(digest.id);
  return after ?? digest;
}
