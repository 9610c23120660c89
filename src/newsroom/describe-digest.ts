/**
 * One digest as the newsroom sees it: its articles in order (and, for a draft, what else could go in), what the
 * editor wrote, its timeline, progress and failures, and what the freeze left out of the email and why.
 */
import type { Article } from '../articles/article.js';
import type { Config, Newsletter } from '../config.js';
import { describeProgress, type DigestProgress } from '../delivery/describe-progress.js';
import type { Digest, DigestComposition, DigestWeb, OmittedArticle } from '../digests/digest.js';
import { flattenSections, selectArticles } from '../digests/select-articles.js';

/** What describing a digest needs from the world. */
export interface DescribeDigestDeps {
  digests: {
    get(id: string): Promise<Digest | undefined>;
    getComposition(id: string): Promise<DigestComposition>;
    getWeb(id: string): Promise<DigestWeb | undefined>;
    findCarried(newsletterId: string, articleIds: string[]): Promise<Map<string, string>>;
  };
  articles: {
    getMany(ids: string[]): Promise<Article[]>;
    listPublishedSince(since: Date | undefined, limit: number): Promise<Article[]>;
  };
  ledger: { listFailures(digestId: string, limit?: number): Promise<{ subscriberId: number; reason: string }[]> };
  clock: () => Date;
}

/** An article of a digest, or one an editor could add, with what the newsroom should know about it. */
export interface ArticleLine {
  id: string;
  title: string;
  section: string;
  publishedAt: string;
  url: string;
  /** Chosen by an editor on purpose: it may repeat another issue's article. */
  isPinned: boolean;
  /** Another issue of the newsletter that already carries it. */
  carriedBy: string | null;
}

/** One step of a digest's life. */
export interface TimelineEntry {
  label: string;
  at: string;
}

/** Everything the digest page shows. */
export interface DigestDetail {
  digest: Digest;
  composition: DigestComposition;
  articles: ArticleLine[];
  /** Ids the draft lists whose article is no longer stored (unpublished). */
  missingArticleIds: string[];
  /** For a draft: recent articles of the newsletter's sections not in it, newest first. */
  candidates: ArticleLine[];
  timeline: TimelineEntry[];
  progress: DigestProgress;
  failures: { subscriberId: number; reason: string }[];
  /** What the freeze left out of the email, and why (empty for a draft: its preview says). */
  omitted: OmittedArticle[];
}

/** Recent articles offered for adding to a draft. */
export const CANDIDATE_LIMIT = 40;

function line(article: Article, pinned: ReadonlySet<string>, carried: Map<string, string>, self: string): ArticleLine {
  const owner = carried.get(article.id);
  return {
    id: article.id,
    title: article.title,
    section: article.section,
    publishedAt: article.publishedAt,
    url: article.url,
    isPinned: pinned.has(article.id),
    carriedBy: owner && owner !== self ? owner : null,
  };
}

function timelineOf(digest: Digest): TimelineEntry[] {
  const steps: [string, string | undefined][] = [
    [`created${digest.createdBy ? ` by ${digest.createdBy}` : ''}`, digest.createdAt],
    [`frozen${digest.updatedBy ? ` by ${digest.updatedBy}` : ''}`, digest.frozenAt],
    ['scheduled for', digest.scheduledFor],
    ['sending started', digest.sendRequestedAt],
    ['every reader queued', digest.fannedOutAt],
    ['sent to every reader', digest.sentAt],
  ];
  return steps.flatMap(([label, at]) => (at ? [{ label, at }] : []));
}

/** Describes one digest (see the module comment); undefined when there is no such digest. */
export async function describeDigest(
  deps: DescribeDigestDeps,
  input: { digestId: string; newsletter: Newsletter; site: Config['site'] },
): Promise<DigestDetail | undefined> {
  const digest = await deps.digests.get(input.digestId);
  if (!digest) return undefined;
  const isDraft = digest.status === 'draft';
  const [composition, articles, web, recent, failures] = await Promise.all([
    deps.digests.getComposition(digest.id),
    deps.articles.getMany(digest.articleIds),
    isDraft ? Promise.resolve(undefined) : deps.digests.getWeb(digest.id),
    isDraft ? deps.articles.listPublishedSince(undefined, CANDIDATE_LIMIT * 4) : Promise.resolve([]),
    digest.counts.failed > 0 ? deps.ledger.listFailures(digest.id, 50) : Promise.resolve([]),
  ]);
  const inDigest = new Set(digest.articleIds);
  const candidates = flattenSections(
    selectArticles(
      recent.filter((article) => !inDigest.has(article.id)),
      { sections: input.newsletter.sections, maxArticles: CANDIDATE_LIMIT },
      undefined,
    ),
  ).sort((a, b) => Date.parse(b.publishedAt) - Date.parse(a.publishedAt));
  const carried = await deps.digests.findCarried(digest.newsletterId, [
    ...digest.articleIds,
    ...candidates.map((article) => article.id),
  ]);
  const pinned = new Set(composition.pinnedArticleIds);
  const found = new Set(articles.map((article) => article.id));
  return {
    digest,
    composition,
    articles: articles.map((article) => line(article, pinned, carried, digest.id)),
    missingArticleIds: digest.articleIds.filter((id) => !found.has(id)),
    candidates: candidates.map((article) => line(article, pinned, carried, digest.id)),
    timeline: timelineOf(digest),
    progress: describeProgress(digest, deps.clock()),
    failures,
    omitted: web?.omitted ?? [],
  };
}
