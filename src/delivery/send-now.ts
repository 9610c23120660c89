/**
 * "Send now", an editor's button: a draft is frozen for good and sent, a ready digest is sent, a scheduled one goes
 * out at once instead of at its time (its delayed job then finds it already sending and does nothing).
 */
import type { Config, Newsletter } from '../config.js';
import { AppError } from '../errors.js';
import { freezeDigest, type FreezeDigestDeps } from '../digests/freeze-digest.js';
import type { Digest } from '../digests/digest.js';
import { sendDigest, type SendDigestDeps, type SendDigestResult } from './send-digest.js';

/** What sending now needs (the app provides all of it). */
export interface SendNowDeps extends SendDigestDeps {
  digests: SendDigestDeps['digests'] & FreezeDigestDeps['digests'];
  articles: FreezeDigestDeps['articles'];
}

/** Input of `sendNow`. */
export interface SendNowInput {
  digestId: string;
  newsletter: Newsletter;
  site: Config['site'];
  /** Who pressed the button (an editor's name, `cli`). */
  by: string;
  /** The draft's revision the editor confirmed; a draft changed since is refused (they confirm again). */
  expectedRevision?: number;
  /** Finding kinds of the privacy audit the editor allows for this send. @defaultValue [] */
  allowFindings?: readonly string[];
}

/** Sends a digest now (see the module comment); returns the send's result and the digest as it then is. */
export async function sendNow(deps: SendNowDeps, input: SendNowInput): Promise<SendDigestResult & { digest: Digest }> {
  const digest = await deps.digests.get(input.digestId);
  if (!digest) throw new AppError('digest_not_found', `no digest "${input.digestId}"`);
  if (digest.status === 'draft') {
    await freezeDigest(deps, {
      digestId: digest.id,
      newsletter: input.newsletter,
      site: input.site,
      target: 'ready',
      by: input.by,
      expectedRevision: input.expectedRevision,
    });
  }
  const result = await sendDigest(
    deps,
    digest.status === 'scheduled'
      ? { digestId: digest.id, scheduledFor: digest.scheduledFor, allowFindings: input.allowFindings }
      : { digestId: digest.id, allowFindings: input.allowFindings },
  );
  deps.logger.info({ digestId: digest.id, by: input.by, status: result.status }, 'digest sent now');
  const after = await deps.digests.get(digest.id);
  return { ...result, digest: after ?? digest };
}
