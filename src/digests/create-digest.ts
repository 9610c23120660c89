/**
 * Creating a digest ready to send in one step: a draft of the newsletter's new articles (or of chosen ones), frozen at
 * once. The demo, the benchmark and a schedule in `send` mode use it; editors go through a draft they shape first.
 */
import type { Article } from '../articles/article.js';
import type { Config, Newsletter } from '../config.js';
import { createDraft, type CreateDraftDeps } from './create-draft.js';
import type { Digest } from './digest.js';
import { freezeDigest, type FreezeDigestDeps } from './freeze-digest.js';

export { LATE_ARRIVAL_WINDOW_MS, SECTIONED_CANDIDATES } from './suggest-articles.js';
export { makeDigestId } from './create-draft.js';

/** What `createDigest` needs from the world. */
export interface CreateDigestDeps extends CreateDraftDeps, Pick<FreezeDigestDeps, 'freezeImages'> {
  digests: CreateDraftDeps['digests'] & FreezeDigestDeps['digests'];
}

/** Input of `createDigest`. */
export interface CreateDigestInput {
  newsletter: Newsletter;
  site: Config['site'];
  /** Only articles published after this time; defaults to the newsletter's last send. */
  since?: Date;
  /** Chosen articles in order instead of the suggestions; chosen on purpose, they may repeat an earlier digest's. */
  articles?: Article[];
  /** Who asked for it. @defaultValue 'cli' */
  createdBy?: string;
}

/**
 * Creates and stores a `ready` digest: the suggested articles (published after `since`, else after the last send with
 * a look-back for late arrivals, never one another issue carries; when the newsletter never sent, simply the newest
 * `maxArticles`), or the chosen ones, rendered once. Throws `digest_empty` when no article qualifies.
 */
export async function createDigest(deps: CreateDigestDeps, input: CreateDigestInput): Promise<Digest> {
  const by = input.createdBy ?? 'cli';
  const { digest, articles } = await createDraft(deps, {
    newsletter: input.newsletter,
    since: input.since,
    articles: input.articles,
    createdBy: by,
  });
  const frozen = await freezeDigest(
    {
      digests: deps.digests,
      articles: { getMany: async () => articles },
      clock: deps.clock,
      freezeImages: deps.freezeImages,
    },
    { digestId: digest.id, newsletter: input.newsletter, site: input.site, target: 'ready', by, articles },
  );
  return frozen.digest;
}
