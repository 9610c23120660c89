/**
 * Sending a digest: the pre-send check (the privacy audit, injected), the guarded step ready → sending, then the
 * fan-out job with its deterministic id. Sending twice, at the same time or after it finished, sends nobody twice:
 * the status step happens once, BullMQ dedupes the job id, and the ledger settles each recipient at most once.
 */
import type { Digest, DigestStatus } from '../digests/digest.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { DigestTransition } from './delivery-ledger.js';
import type { JobName, JobPayload } from '../queue/job-definitions.js';

/** The guarded status change digests go through. */
export interface DigestStateLedger {
  transition(
    digestId: string,
    newsletterId: string,
    change: DigestTransition,
    now: Date,
  ): Promise<{ previous: DigestStatus | undefined; status: DigestStatus | undefined; resumeCount: number }>;
}

/**
 * The check a digest passes before its first send: the privacy audit, wired at the composition root, so delivery
 * knows only this shape. `allowFindings` are the kinds the editor allowed; a refusal's reason is shown as it is.
 */
export type PreSendCheck = (
  digest: Digest,
  options: { allowFindings: readonly string[] },
) => Promise<{ isPassed: boolean; reason: string }>;

/** What sending needs (the app provides all of it). */
export interface SendDigestDeps {
  digests: { get(id: string): Promise<Digest | undefined> };
  ledger: DigestStateLedger;
  queues: { enqueue<N extends JobName>(name: N, payload: JobPayload<N>): Promise<string> };
  clock: () => Date;
  logger: Logger;
  /** Runs before a ready digest is sent; a refusal stops the send with `privacy_finding`. */
  checkBeforeSend: PreSendCheck;
}

/** The result of a send request. */
export interface SendDigestResult {
  status: DigestStatus;
  /** Whether a fan-out job was enqueued (or found already queued). */
  isFanOutQueued: boolean;
}

/** Input of `sendDigest`. */
export interface SendDigestInput {
  digestId: string;
  /**
   * Send a scheduled digest whose time has come: only while it is still `scheduled` for exactly this time (an
   * unscheduled or rescheduled digest is left alone).
   */
  scheduledFor?: string;
  /** Finding kinds the editor allows for this send (`--allow-finding`). @defaultValue [] */
  allowFindings?: readonly string[];
}

/**
 * Starts sending a digest: a ready digest first passes the pre-send check (else `privacy_finding`, nothing changes),
 * then ready → sending (stamping sendRequestedAt) and enqueues `fanout-${digestId}`. A digest
 * already sending gets a fan-out of its own that re-plans the ranges with recipients still pending and revives
 * their delivery jobs (adds missing ones, retries failed ones, promotes delayed ones; waiting or active ones are left
 * alone), as `digest resume` does: so sending again repairs a digest whose jobs failed for good. A sent digest is a
 * no-op; a paused one is left to `digest resume`; a cancelled one is refused with `digest_state`, and so is a draft
 * (it is frozen first: see `sendNow`) or a scheduled one (unless `scheduledFor` names its time).
 */
export async function sendDigest(deps: SendDigestDeps, input: SendDigestInput): Promise<SendDigestResult> {
  const digest = await deps.digests.get(input.digestId);
  if (!digest) throw new AppError('digest_not_found', `no digest "${input.digestId}"`);
  const fromScheduled = input.scheduledFor !== undefined;
  // The privacy audit stands before the first send, whether an editor sends now or a schedule's time has come.
  if (digest.status === 'ready' || (fromScheduled && digest.status === 'scheduled')) {
    const check = await deps.checkBeforeSend(digest, { allowFindings: input.allowFindings ?? [] });
    if (!check.isPassed) throw new AppError('privacy_finding', check.reason);
  }
  const { previous, status } = await deps.ledger.transition(
    digest.id,
    digest.newsletterId,
    fromScheduled
      ? {
          from: ['scheduled'],
          to: 'sending',
          stamp: 'sendRequestedAt',
          requireField: { name: 'scheduledFor', value: input.scheduledFor ?? '' },
        }
      : { from: ['ready'], to: 'sending', stamp: 'sendRequestedAt' },
    deps.clock(),
  );
  if (fromScheduled) {
    // A retried job finds its own earlier step done: reviving is harmless. Anything else (unscheduled, rescheduled,
    // cancelled, sent by hand) is left alone.
    if (previous === 'scheduled' && status === 'sending') return enqueueFanOut(deps, digest, previous, status);
    if (previous === 'sending') return reviveSending(deps, digest);
    return { status: previous ?? 'cancelled', isFanOutQueued: false };
  }
  switch (previous) {
    case undefined:
      throw new AppError('digest_not_found', `no digest "${input.digestId}"`);
    case 'cancelled':
      throw new AppError('digest_state', `digest "${digest.id}" was cancelled and cannot be sent`);
    case 'draft':
      throw new AppError('digest_state', `digest "${digest.id}" is a draft: freeze it before sending`);
    case 'scheduled':
      throw new AppError(
        'digest_state',
        `digest "${digest.id}" is scheduled for ${digest.scheduledFor ?? 'later'}: unschedule it to send it now`,
      );
    case 'sent':
    case 'paused':
      return { status: previous, isFanOutQueued: false };
    case 'ready':
      return enqueueFanOut(deps, digest, previous, status);
    case 'sending':
      return reviveSending(deps, digest);
  }
}

/** The first fan-out of a digest that has just moved to sending. */
async function enqueueFanOut(
  deps: SendDigestDeps,
  digest: Digest,
  previous: DigestStatus,
  status: DigestStatus | undefined,
): Promise<SendDigestResult> {
  const jobId = await deps.queues.enqueue('fanout', { digestId: digest.id });
  deps.logger.info({ digestId: digest.id, jobId, previous }, 'digest send requested');
  return { status: status ?? 'sending', isFanOutQueued: true };
}

/** A send request for a digest already sending: a resume-style fan-out (its own job id) revives whatever is stuck. */
async function reviveSending(deps: SendDigestDeps, digest: Digest): Promise<SendDigestResult> {
  const { previous, status, resumeCount } = await deps.ledger.transition(
    digest.id,
    digest.newsletterId,
    { from: ['sending'], to: 'sending', countResume: true },
    deps.clock(),
  );
  // It may have finished, been paused or cancelled in between: then there is nothing to revive.
  if (previous === undefined) throw new AppError('digest_not_found', `no digest "${digest.id}"`);
  if (previous !== 'sending') return { status: previous, isFanOutQueued: false };
  const jobId = await deps.queues.enqueue('fanout', { digestId: digest.id, resume: resumeCount });
  deps.logger.info({ digestId: digest.id, jobId }, 'digest send requested again: pending work revived');
  return { status: status ?? 'sending', isFanOutQueued: true };
}
