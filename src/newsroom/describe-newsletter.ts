/**
 * A newsletter as the newsroom sees it: its readers, its last issue and how it went, what is scheduled or sending,
 * its drafts, the new articles waiting, its feeds and its schedule, and its history. The editor page and the API
 * read it alike.
 */
import type { Article } from '../articles/article.js';
import { newsletterTimeZone, type Config, type Newsletter } from '../config.js';
import { describeProgress, type DigestProgress } from '../delivery/describe-progress.js';
import type { Digest } from '../digests/digest.js';
import { suggestArticles, type SuggestArticlesDeps } from '../digests/suggest-articles.js';
import type { FeedState } from '../feeds/feed-state.js';
import { describeFeeds, type FeedReport } from './describe-feeds.js';
import { nextRuns } from '../newsletters/next-runs.js';
import type { ScheduleRun } from '../newsletters/schedule-run-store.js';

/** What describing needs from the world. */
export interface DescribeNewsletterDeps extends SuggestArticlesDeps {
  subscribers: { countActive(newsletterId: string): Promise<number> };
  feeds: { getMany(feedIds: string[]): Promise<(FeedState | undefined)[]> };
  scheduleRuns: { get(newsletterId: string): Promise<ScheduleRun | undefined> };
  clock: () => Date;
}

/** A digest in a list: enough to recognise and open it. */
export interface DigestSummary {
  id: string;
  kind: 'digest' | 'letter';
  status: Digest['status'];
  subject: string;
  articleCount: number;
  createdAt: string;
  createdBy: string | null;
  updatedBy: string | null;
  scheduledFor: string | null;
  sendRequestedAt: string | null;
  sentAt: string | null;
  counts: Digest['counts'];
  progress: DigestProgress;
}

/** Everything the newsletter page shows. */
export interface NewsletterOverview {
  id: string;
  name: string;
  description: string | null;
  timeZone: string;
  activeReaders: number;
  /** The newest issue that went out (or is going out). */
  lastIssue: DigestSummary | null;
  scheduled: DigestSummary[];
  sending: DigestSummary[];
  drafts: DigestSummary[];
  /** New articles a digest made now would suggest. */
  waitingArticles: Pick<Article, 'id' | 'title' | 'section' | 'publishedAt'>[];
  schedule: { cron: string; mode: 'send' | 'draft'; nextRuns: string[]; lastRun: ScheduleRun | null } | null;
  feeds: FeedReport[];
  /** Every issue, newest first (at most `historyLimit`). */
  history: DigestSummary[];
}

/** Issues listed in a newsletter's history. */
export const HISTORY_LIMIT = 100;

/** A digest as a list shows it. */
export function summarizeDigest(digest: Digest, now: Date): DigestSummary {
  return {
    id: digest.id,
    kind: digest.kind ?? 'digest',
    status: digest.status,
    subject: digest.subject,
    articleCount: digest.articleIds.length,
    createdAt: digest.createdAt,
    createdBy: digest.createdBy ?? null,
    updatedBy: digest.updatedBy ?? null,
    scheduledFor: digest.scheduledFor ?? null,
    sendRequestedAt: digest.sendRequestedAt ?? null,
    sentAt: digest.sentAt ?? null,
    counts: digest.counts,
    progress: describeProgress(digest, now),
  };
}

/** Describes one newsletter (see the module comment). */
export async function describeNewsletter(
  deps: DescribeNewsletterDeps,
  input: { newsletter: Newsletter; site: Config['site']; historyLimit?: number },
): Promise<NewsletterOverview> {
  const { newsletter, site } = input;
  const now = deps.clock();
  const [activeReaders, digests, suggestion, feeds, lastRun] = await Promise.all([
    deps.subscribers.countActive(newsletter.id),
    deps.digests.listByNewsletter(newsletter.id, input.historyLimit ?? HISTORY_LIMIT),
    suggestArticles(deps, { newsletter }),
    describeFeeds(deps, [newsletter]),
    newsletter.schedule ? deps.scheduleRuns.get(newsletter.id) : Promise.resolve(undefined),
  ]);
  const summaries = digests.map((digest) => summarizeDigest(digest, now));
  const withStatus = (...statuses: Digest['status'][]) => summaries.filter((d) => statuses.includes(d.status));
  return {
    id: newsletter.id,
    name: newsletter.name,
    description: newsletter.description ?? null,
    timeZone: newsletterTimeZone(newsletter, site),
    activeReaders,
    lastIssue: summaries.find((d) => d.sendRequestedAt !== null && d.status !== 'cancelled') ?? null,
    scheduled: withStatus('scheduled').sort((a, b) => (a.scheduledFor ?? '').localeCompare(b.scheduledFor ?? '')),
    sending: withStatus('sending', 'paused'),
    drafts: withStatus('draft'),
    waitingArticles: suggestion.articles.map(({ id, title, section, publishedAt }) => ({
      id,
      title,
      section,
      publishedAt,
    })),
    schedule: newsletter.schedule
      ? {
          cron: newsletter.schedule.cron,
          mode: newsletter.schedule.mode,
          nextRuns: nextRuns(newsletter.schedule, site, now, 3).map((at) => at.toISOString()),
          lastRun: lastRun ?? null,
        }
      : null,
    feeds,
    history: summaries,
  };
}
