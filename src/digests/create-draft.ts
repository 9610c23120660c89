/** Creating a draft: a new issue of a newsletter, its articles suggested (or chosen), stored for editors to shape. */
import { randomInt } from 'node:crypto';
import type { Article } from '../articles/article.js';
import type { Newsletter } from '../config.js';
import { AppError, isAppError } from '../errors.js';
import { subjectFor } from './build-digest-view.js';
import {
  DigestCompositionSchema,
  type Digest,
  type DigestBody,
  type DigestComposition,
  type DigestKind,
} from './digest.js';
import { suggestArticles, type SuggestArticlesDeps } from './suggest-articles.js';

/** What creating a draft needs from the world. */
export interface CreateDraftDeps extends SuggestArticlesDeps {
  digests: SuggestArticlesDeps['digests'] & {
    create(digest: Digest, body?: DigestBody, composition?: DigestComposition): Promise<void>;
  };
  clock: () => Date;
  /** Makes a new digest id. @defaultValue makeDigestId */
  makeId?: (newsletterId: string, at: Date) => string;
}

/** Input of `createDraft`. */
export interface CreateDraftInput {
  newsletter: Newsletter;
  /** @defaultValue 'digest' */
  kind?: DigestKind;
  /**
   * The articles in order, chosen by an editor: they are pinned (they may repeat an earlier issue's). Absent: the
   * suggestions for a digest, none for a letter.
   */
  articles?: Article[];
  /** Only suggest articles published after this time; defaults to the newsletter's last send. */
  since?: Date;
  /** The note, overrides and letter; a letter without one gets an empty letter signed by `createdBy`. */
  composition?: Partial<DigestComposition>;
  /** The editor's name, `schedule` or `cli`. */
  createdBy: string;
  /** Keep a digest draft that has no article yet (an editor adds them); otherwise that is `digest_empty`. */
  allowEmpty?: boolean;
  /** A fixed id (a scheduled run names its digest after its time, so a retried run finds it). */
  id?: string;
}

function twoDigits(value: number): string {
  return String(value).padStart(2, '0');
}

/** `YYYYMMDD-HHmmss` (UTC). */
export function digestStamp(at: Date): string {
  return (
    `${at.getUTCFullYear()}${twoDigits(at.getUTCMonth() + 1)}${twoDigits(at.getUTCDate())}-` +
    `${twoDigits(at.getUTCHours())}${twoDigits(at.getUTCMinutes())}${twoDigits(at.getUTCSeconds())}`
  );
}

/** `${newsletterId}-${YYYYMMDD-HHmmss}-${4 random base36}` (UTC), lower-case. */
export function makeDigestId(newsletterId: string, at: Date): string {
  const suffix = randomInt(36 ** 4)
    .toString(36)
    .padStart(4, '0');
  return `${newsletterId}-${digestStamp(at)}-${suffix}`.toLowerCase();
}

/**
 * Creates and stores a draft (see the input for what it starts with). Throws `digest_empty` when a digest would have
 * no article and that is not allowed. When the id is already taken it draws a new one once; it never overwrites
 * another digest (a fixed id that is taken is refused with `digest_state`).
 */
export async function createDraft(
  deps: CreateDraftDeps,
  input: CreateDraftInput,
): Promise<{ digest: Digest; articles: Article[] }> {
  const { newsletter } = input;
  const kind = input.kind ?? 'digest';
  const now = deps.clock();
  const suggested =
    input.articles === undefined && kind === 'digest'
      ? await suggestArticles(deps, { newsletter, since: input.since })
      : { articles: input.articles ?? [], since: input.since };
  const articles = suggested.articles;
  if (articles.length === 0 && kind === 'digest' && !input.allowEmpty) {
    const window = suggested.since ? `since ${suggested.since.toISOString()}` : 'at all';
    const sections = newsletter.sections.length > 0 ? ` in sections ${newsletter.sections.join(', ')}` : '';
    throw new AppError('digest_empty', `no new articles for newsletter "${newsletter.id}" ${window}${sections}`);
  }
  const composition = DigestCompositionSchema.parse({
    ...input.composition,
    letter:
      input.composition?.letter ??
      (kind === 'letter' ? { title: 'A letter from the newsroom', body: '', author: input.createdBy } : undefined),
    pinnedArticleIds: input.articles ? articles.map((article) => article.id) : [],
  });
  const makeId = deps.makeId ?? makeDigestId;
  const digest: Digest = {
    id: input.id ?? makeId(newsletter.id, now),
    newsletterId: newsletter.id,
    kind,
    status: 'draft',
    subject: subjectFor(newsletter, articles, {
      subject: composition.subject,
      letterTitle: composition.letter?.title,
    }),
    articleIds: articles.map((article) => article.id),
    revision: 0,
    createdBy: input.createdBy,
    updatedBy: input.createdBy,
    ...(suggested.since ? { since: suggested.since.toISOString() } : {}),
    createdAt: now.toISOString(),
    counts: { recipients: 0, delivered: 0, failed: 0, skipped: 0 },
  };
  try {
    await deps.digests.create(digest, undefined, composition);
    return { digest, articles };
  } catch (error) {
    // Two digests of one newsletter in the same second may draw the same random suffix: the store refuses the
    // second (it never overwrites), and one more draw makes another collision vanishingly unlikely.
    if (!isAppError(error, 'digest_state') || input.id !== undefined) throw error;
    const retried: Digest = { ...digest, id: makeId(newsletter.id, now) };
    await deps.digests.create(retried, undefined, composition);
    return { digest: retried, articles };
  }
}
