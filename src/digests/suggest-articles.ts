/**
 * The articles a new issue of a newsletter suggests: what was published since its last send (looking back a little
 * further for late arrivals), in its sections, newest first, grouped by section and capped at `maxArticles`, leaving
 * out every article another issue of the newsletter already carries.
 */
import type { Article } from '../articles/article.js';
import type { Newsletter } from '../config.js';
import type { Digest, DigestStatus } from './digest.js';
import { flattenSections, selectArticles } from './select-articles.js';

/** What suggesting needs from the world. */
export interface SuggestArticlesDeps {
  articles: { listPublishedSince(since: Date | undefined, limit: number): Promise<Article[]> };
  digests: {
    listByNewsletter(newsletterId: string, limit: number): Promise<Digest[]>;
    findCarried(newsletterId: string, articleIds: string[]): Promise<Map<string, string>>;
  };
  /** When the newsletter's last digest finished sending; undefined when it never sent. */
  lastSentAt: (newsletterId: string) => Promise<Date | undefined>;
}

/** The suggestion: articles in reading order and the window they came from. */
export interface SuggestedArticles {
  articles: Article[];
  /** Articles published after this time were eligible (undefined: the newsletter never sent). */
  since: Date | undefined;
}

/**
 * How far before the last send a digest still looks for articles. A feed polled hourly, or a CMS that backdates a
 * post, delivers articles whose publication time is before the last digest was made; they are taken unless an
 * earlier digest of the newsletter already carried them.
 */
export const LATE_ARRIVAL_WINDOW_MS = 48 * 60 * 60 * 1000;

/** Earlier digests whose articles a new digest does not repeat (besides those recorded as carried). */
const RECENT_DIGESTS = 20;

/**
 * Articles read from the store when the newsletter takes only some sections: the newest this many in the window are
 * filtered by section. Without a section filter exactly `maxArticles` (plus what is excluded) are read.
 */
export const SECTIONED_CANDIDATES = 500;

/** Statuses of digests whose articles went, or are about to go, out. */
const CARRYING: ReadonlySet<DigestStatus> = new Set(['scheduled', 'ready', 'sending', 'paused', 'sent']);

/**
 * Suggests a new issue's articles (see the module comment): after `since` when given, else after the last send
 * minus the late-arrival window, else (never sent) simply the newest.
 */
export async function suggestArticles(
  deps: SuggestArticlesDeps,
  input: { newsletter: Newsletter; since?: Date },
): Promise<SuggestedArticles> {
  const { newsletter } = input;
  const lastSentAt = input.since ? undefined : await deps.lastSentAt(newsletter.id);
  const since = input.since ?? lastSentAt;
  const searchFrom = lastSentAt ? new Date(lastSentAt.getTime() - LATE_ARRIVAL_WINDOW_MS) : since;
  const recent = await deps.digests.listByNewsletter(newsletter.id, RECENT_DIGESTS);
  const alreadyCarried = new Set(recent.filter((d) => CARRYING.has(d.status)).flatMap((d) => d.articleIds));
  const limit =
    (newsletter.sections.length > 0 ? Math.max(SECTIONED_CANDIDATES, newsletter.maxArticles) : newsletter.maxArticles) +
    alreadyCarried.size;
  const listed = await deps.articles.listPublishedSince(searchFrom, limit);
  const carried = await deps.digests.findCarried(
    newsletter.id,
    listed.map((article) => article.id),
  );
  const candidates = listed.filter((article) => !alreadyCarried.has(article.id) && !carried.has(article.id));
  return { articles: flattenSections(selectArticles(candidates, newsletter, searchFrom)), since };
}
