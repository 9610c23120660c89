/**
 * An editor's controls over a digest in flight: pause, resume and cancel. Each is one guarded status step in the
 * ledger; delivery batches check the status right before every send, so a pause or cancel stops new messages at
 * once (messages already handed to the relay finish and are recorded).
 */
import type { Digest, DigestStatus } from '../digests/digest.js';
import { AppError } from '../errors.js';
import type { SendDigestDeps } from './send-digest.js';

/** What the controls need (the app provides all of it). */
export type ControlDigestDeps = Omit<SendDigestDeps, 'checkBeforeSend'>;

/** What cancelling needs besides the controls: taking back a digest that has not gone out. */
export interface CancelDigestDeps extends ControlDigestDeps {
  digests: ControlDigestDeps['digests'] & {
    unfreeze(
      digest: Pick<Digest, 'id' | 'newsletterId'>,
      options: { from: DigestStatus[]; to: 'draft' | 'cancelled'; updatedBy: string },
    ): Promise<DigestStatus | undefined>;
  };
}

async function load(deps: ControlDigestDeps, digestId: string): Promise<Digest> {
  const digest = await deps.digests.get(digestId);
  if (!digest) throw new AppError('digest_not_found', `no digest "${digestId}"`);
  return digest;
}

/** Pauses a sending digest with a reason; delivery batches hand themselves back until it resumes. */
export async function pauseDigest(
  deps: ControlDigestDeps,
  input: { digestId: string; reason?: string },
): Promise<Digest> {
  const digest = await load(deps, input.digestId);
  const { previous } = await deps.ledger.transition(
    digest.id,
    digest.newsletterId,
    { from: ['sending'], to: 'paused', pausedReason: input.reason ?? 'paused by an editor' },
    deps.clock(),
  );
  if (previous !== 'sending' && previous !== 'paused') {
    throw new AppError(
      'digest_state',
      `digest "${digest.id}" is ${previous ?? 'gone'}: only a sending digest can be paused`,
    );
  }
  deps.logger.info({ digestId: digest.id }, 'digest paused');
  return load(deps, digest.id);
}

/**
 * Resumes a paused digest (or nudges one stuck in `sending`): clears the pause and its run of refusals, then
 * enqueues a fan-out job named after the resume count, which re-plans the ranges with recipients still pending and
 * wakes their delivery jobs (promotes delayed ones, retries failed ones; a waiting or active one is left alone, so
 * no two jobs ever work on the same recipients). A sent digest is returned as is.
 */
export async function resumeDigest(deps: ControlDigestDeps, input: { digestId: string }): Promise<Digest> {
  const digest = await load(deps, input.digestId);
  const { previous, resumeCount } = await deps.ledger.transition(
    digest.id,
    digest.newsletterId,
    { from: ['paused', 'sending'], to: 'sending', clearPause: true, countResume: true },
    deps.clock(),
  );
  if (previous === 'ready') {
    throw new AppError('digest_state', `digest "${digest.id}" has not been sent yet: use \`digest send\``);
  }
  if (previous === 'cancelled') throw new AppError('digest_state', `digest "${digest.id}" was cancelled`);
  if (previous === 'paused' || previous === 'sending') {
    const jobId = await deps.queues.enqueue('fanout', { digestId: digest.id, resume: resumeCount });
    deps.logger.info({ digestId: digest.id, jobId, previous }, 'digest resumed');
  }
  return load(deps, digest.id);
}

/**
 * Cancels a digest that has not finished: nobody else receives it; recipients not yet reached stay unrecorded and
 * count as never sent. A draft, scheduled or ready digest is withdrawn before anyone got it, and its articles are
 * free for another issue. Cancelling a cancelled digest is a no-op; a sent one is refused with `digest_state`.
 */
export async function cancelDigest(deps: CancelDigestDeps, input: { digestId: string; by?: string }): Promise<Digest> {
  const digest = await load(deps, input.digestId);
  const unsent = await deps.digests.unfreeze(digest, {
    from: ['draft', 'scheduled', 'ready'],
    to: 'cancelled',
    updatedBy: input.by ?? 'cli',
  });
  if (unsent === 'draft' || unsent === 'scheduled' || unsent === 'ready') {
    deps.logger.info({ digestId: digest.id, previous: unsent }, 'digest cancelled before sending');
    return load(deps, digest.id);
  }
  const { previous } = await deps.ledger.transition(
    digest.id,
    digest.newsletterId,
    { from: ['sending', 'paused'], to: 'cancelled' },
    deps.clock(),
  );
  if (previous === 'sent') throw new AppError('digest_state', `digest "${digest.id}" was already sent`);
  deps.logger.info({ digestId: digest.id, previous }, 'digest cancelled');
  return load(deps, digest.id);
}
