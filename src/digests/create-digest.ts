/** Creating a digest: choose the articles since the last send, render once, store the frozen result as `ready`. */
import { randomInt } from 'node:crypto';
import type { Article } from '../articles/article.js';
import type { Config, Newsletter } from '../config.js';
import { AppError, isAppError } from '../errors.js';
import type { Digest, DigestBody } from './digest.js';
import { freezeDigestImages, type FreezeDigestImagesInput, type FrozenDigestImages } from './freeze-digest-images.js';
import { renderDigest, type RenderDigestInput } from './render-digest.js';
import { flattenSections, selectArticles } from './select-articles.js';

/** What `createDigest` needs from the world. */
export interface CreateDigestDeps {
  articles: { listPublishedSince(since: Date | undefined, limit: number): Promise<Article[]> };
  digests: {
    create(digest: Digest, body: DigestBody): Promise<void>;
    listByNewsletter(newsletterId: string, limit: number): Promise<Digest[]>;
  };
  /** When the newsletter's last digest finished sending; undefined when it never sent. */
  lastSentAt: (newsletterId: string) => Promise<Date | undefined>;
  clock: () => Date;
  /** Renders the frozen body. @defaultValue renderDigest */
  render?: (input: RenderDigestInput) => Promise<DigestBody>;
  /** Makes a new digest id. @defaultValue makeDigestId */
  makeId?: (newsletterId: string, at: Date) => string;
  /**
   * Applies the newsletter's image policy (`App.freezeImages` embeds images). @defaultValue the `remote` and `none`
   * policies only; a newsletter with `embedded` images is refused without it
   */
  freezeImages?: (input: FreezeDigestImagesInput) => Promise<FrozenDigestImages>;
}

/** Input of `createDigest`. */
export interface CreateDigestInput {
  newsletter: Newsletter;
  site: Config['site'];
  /** Only articles published after this time; defaults to the newsletter's last send. */
  since?: Date;
}

/**
 * How far before the last send a digest still looks for articles. A feed polled hourly, or a CMS that backdates a
 * post, delivers articles whose publication time is before the last digest was made; they are taken unless an
 * earlier digest of the newsletter already carried them.
 */
export const LATE_ARRIVAL_WINDOW_MS = 48 * 60 * 60 * 1000;

/** Earlier digests whose articles a new digest does not repeat. */
const RECENT_DIGESTS = 20;

/**
 * Articles read from the store when the newsletter takes only some sections: the newest this many in the window are
 * filtered by section. Without a section filter exactly `maxArticles` are read.
 */
export const SECTIONED_CANDIDATES = 500;

function twoDigits(value: number): string {
  return String(value).padStart(2, '0');
}

/** `${newsletterId}-${YYYYMMDD-HHmmss}-${4 random base36}` (UTC), lower-case. */
export function makeDigestId(newsletterId: string, at: Date): string {
  const stamp =
    `${at.getUTCFullYear()}${twoDigits(at.getUTCMonth() + 1)}${twoDigits(at.getUTCDate())}-` +
    `${twoDigits(at.getUTCHours())}${twoDigits(at.getUTCMinutes())}${twoDigits(at.getUTCSeconds())}`;
  const suffix = randomInt(36 ** 4)
    .toString(36)
    .padStart(4, '0');
  return `${newsletterId}-${stamp}-${suffix}`.toLowerCase();
}

/**
 * Creates and stores a `ready` digest for a newsletter: articles published after `since` (the input's, else the last
 * send; when the newsletter never sent, simply the newest `maxArticles`), rendered once. Throws `digest_empty` when no
 * article qualifies. When the id is already taken it draws a new one once; it never overwrites another digest.
 */
export async function createDigest(deps: CreateDigestDeps, input: CreateDigestInput): Promise<Digest> {
  const { newsletter, site } = input;
  const now = deps.clock();
  const lastSentAt = input.since ? undefined : await deps.lastSentAt(newsletter.id);
  const since = input.since ?? lastSentAt;
  // After a send, look back a little further for late arrivals, and skip what earlier digests already carried.
  const searchFrom = lastSentAt ? new Date(lastSentAt.getTime() - LATE_ARRIVAL_WINDOW_MS) : since;
  const alreadySent = lastSentAt ? await articlesOfEarlierDigests(deps, newsletter.id) : new Set<string>();
  const limit =
    (newsletter.sections.length > 0 ? Math.max(SECTIONED_CANDIDATES, newsletter.maxArticles) : newsletter.maxArticles) +
    alreadySent.size;
  const candidates = (await deps.articles.listPublishedSince(searchFrom, limit)).filter((a) => !alreadySent.has(a.id));
  const articles = flattenSections(selectArticles(candidates, newsletter, searchFrom));
  if (articles.length === 0) {
    const window = since ? `since ${since.toISOString()}` : 'at all';
    const sections = newsletter.sections.length > 0 ? ` in sections ${newsletter.sections.join(', ')}` : '';
    throw new AppError('digest_empty', `no articles for newsletter "${newsletter.id}" ${window}${sections}`);
  }
  const freezeImages = deps.freezeImages ?? ((frozen) => freezeDigestImages(undefined, frozen));
  const frozen = await freezeImages({ newsletter, site, articles });
  const render = deps.render ?? renderDigest;
  const body = await render({ newsletter, site, articles: frozen.articles, images: frozen.images, issueDate: now });
  const makeId = deps.makeId ?? makeDigestId;
  const digest: Digest = {
    id: makeId(newsletter.id, now),
    newsletterId: newsletter.id,
    status: 'ready',
    subject: body.subject,
    articleIds: articles.map((article) => article.id),
    ...(since ? { since: since.toISOString() } : {}),
    createdAt: now.toISOString(),
    counts: { recipients: 0, delivered: 0, failed: 0, skipped: 0 },
  };
  try {
    await deps.digests.create(digest, body);
    return digest;
  } catch (error) {
    // Two digests of one newsletter in the same second may draw the same random suffix: the store refuses the
    // second (it never overwrites), and one more draw makes another collision vanishingly unlikely.
    if (!isAppError(error, 'digest_state')) throw error;
    const retried: Digest = { ...digest, id: makeId(newsletter.id, now) };
    await deps.digests.create(retried, body);
    return retried;
  }
}

/** Ids of the articles carried by the newsletter's recent digests that went (or are going) out. */
async function articlesOfEarlierDigests(deps: CreateDigestDeps, newsletterId: string): Promise<Set<string>> {
  const digests = await deps.digests.listByNewsletter(newsletterId, RECENT_DIGESTS);
  return new Set(
    digests
      .filter((d) => d.status === 'sent' || d.status === 'sending' || d.status === 'paused')
      .flatMap((d) => d.articleIds),
  );
}
