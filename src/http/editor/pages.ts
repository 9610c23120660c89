/**
 * The editor's pages: view models from the newsroom's read models, rendered by the templates in
 * `../views/editor`. Presentation only: labels, times in the newsletter's zone and the site's locale, counts in words.
 */
import type { Config, Newsletter } from '../../config.js';
import type { DigestProgress } from '../../delivery/describe-progress.js';
import type { LoadedIssue } from '../../digests/load-issue.js';
import { GMAIL_CLIP_BYTES } from '../../digests/render-issue.js';
import { formatLocalTime, toLocalInputValue } from '../../newsletters/send-time.js';
import type { DigestDetail } from '../../newsroom/describe-digest.js';
import type { DigestSummary, NewsletterOverview } from '../../newsroom/describe-newsletter.js';
import { renderPage } from '../views/render-page.js';

/** Who is looking and where: every page shows the editor's name and speaks the site's locale. */
export interface EditorFrame {
  principal: string;
  site: Config['site'];
}

/** A finding of the privacy audit, as the preview shows it (the audit itself runs elsewhere). */
export interface AuditFinding {
  severity: string;
  message: string;
}

const STATUS_LABELS: Record<string, string> = {
  draft: 'Draft',
  scheduled: 'Scheduled',
  ready: 'Ready',
  sending: 'Sending',
  paused: 'Paused',
  sent: 'Sent',
  cancelled: 'Cancelled',
};

function plural(count: number, one: string, many: string): string {
  return count === 1 ? one : many;
}

function page(view: string, frame: EditorFrame, title: string, data: Record<string, unknown>, nonce?: string) {
  return renderPage(
    `editor/${view}`,
    { title, siteName: frame.site.name, lang: frame.site.locale, nonce },
    { principal: frame.principal, ...data },
    'layouts/editor',
  );
}

/** A duration for people: "2 min 5 s", "1 h 3 min". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** The progress as the page and its live refresh show it. */
export function progressLabels(progress: DigestProgress): { rateLabel: string; etaLabel: string } {
  return {
    rateLabel: progress.ratePerSecond === null ? '—' : `${progress.ratePerSecond} a second`,
    etaLabel:
      progress.status === 'sent'
        ? 'finished'
        : progress.etaSeconds === null
          ? progress.status === 'paused'
            ? 'paused'
            : 'estimating…'
          : `in about ${formatDuration(progress.etaSeconds)}`,
  };
}

function rowOf(summary: DigestSummary, zone: string, locale: string) {
  const at = summary.sentAt ?? summary.sendRequestedAt ?? summary.scheduledFor ?? summary.createdAt;
  const prefix = summary.sentAt ? 'sent' : summary.sendRequestedAt ? 'started' : summary.scheduledFor ? 'for' : 'made';
  return {
    ...summary,
    isLetter: summary.kind === 'letter',
    statusLabel: STATUS_LABELS[summary.status] ?? summary.status,
    when: `${prefix} ${formatLocalTime(at, zone, locale)}`,
    articleNoun: plural(summary.articleCount, 'article', 'articles'),
    by: summary.updatedBy ?? summary.createdBy ?? '',
  };
}

function nextLine(overview: NewsletterOverview, locale: string): string {
  const scheduled = overview.scheduled[0];
  if (scheduled?.scheduledFor) {
    return `“${scheduled.subject}” ${formatLocalTime(scheduled.scheduledFor, overview.timeZone, locale)}`;
  }
  const run = overview.schedule?.nextRuns[0];
  if (run) {
    const what = overview.schedule?.mode === 'send' ? 'sends on its own' : 'prepares a draft';
    return `the schedule ${what} ${formatLocalTime(run, overview.timeZone, locale)}`;
  }
  return 'nothing scheduled';
}

function newsletterCard(overview: NewsletterOverview, locale: string) {
  const last = overview.lastIssue;
  return {
    ...overview,
    lastIssue: last ? { ...last, when: rowOf(last, overview.timeZone, locale).when } : null,
    next: nextLine(overview, locale),
    waitingCount: overview.waitingArticles.length,
    waitingNoun: plural(overview.waitingArticles.length, 'article', 'articles'),
    draftCount: overview.drafts.length,
    failingFeeds: overview.feeds.filter((feed) => feed.state?.lastOutcome === 'failed').length,
  };
}

/** The newsroom's front page: one card per newsletter. */
export function renderOverviewPage(frame: EditorFrame, overviews: NewsletterOverview[], notice?: string): string {
  const locale = frame.site.locale;
  return page('overview', frame, 'Newsroom', {
    notice,
    newsletters: overviews.map((overview) => newsletterCard(overview, locale)),
  });
}

/** One newsletter: what is open, sending, waiting, its schedule, feeds and history. */
export function renderNewsletterPage(frame: EditorFrame, overview: NewsletterOverview, notice?: string): string {
  const { locale } = frame.site;
  const zone = overview.timeZone;
  const rows = (list: DigestSummary[]) => list.map((summary) => rowOf(summary, zone, locale));
  const lastRun = overview.schedule?.lastRun;
  return page('newsletter', frame, overview.name, {
    ...newsletterCard(overview, locale),
    notice,
    sending: rows(overview.sending),
    open: rows([...overview.scheduled, ...overview.drafts]),
    history: rows(overview.history),
    waiting: overview.waitingArticles.map((article) => ({
      ...article,
      when: formatLocalTime(article.publishedAt, zone, locale),
    })),
    schedule: overview.schedule
      ? {
          cron: overview.schedule.cron,
          modeLabel: overview.schedule.mode === 'send' ? 'creates and sends on its own' : 'prepares a draft to approve',
          next: overview.schedule.nextRuns.map((at) => formatLocalTime(at, zone, locale)),
          lastRun: lastRun
            ? `${formatLocalTime(lastRun.at, zone, locale)}: ${lastRun.outcome.replace('-', ' ')}${lastRun.reason ? ` (${lastRun.reason})` : ''}`
            : null,
        }
      : null,
    feeds: overview.feeds.map((feed) => ({
      url: feed.url,
      interval: `${feed.intervalMinutes} min`,
      lastPolled: feed.state?.lastPolledAt ? formatLocalTime(feed.state.lastPolledAt, zone, locale) : 'not yet',
      outcome: feed.state?.lastOutcome ?? 'waiting for the first poll',
      isFailing: feed.state?.lastOutcome === 'failed',
      detail:
        feed.state?.lastOutcome === 'failed'
          ? `${feed.state.lastError ?? 'failed'} (${feed.state.consecutiveFailures} in a row)`
          : feed.state?.lastOutcome === 'ok'
            ? `${feed.state.lastIngested} new, ${feed.state.lastUpdated} changed`
            : '',
      retry: feed.state?.retryAfter
        ? `not before ${formatLocalTime(feed.state.retryAfter, zone, locale)}`
        : 'on schedule',
    })),
  });
}

/** Input of the digest page besides the detail. */
export interface DigestPageOptions {
  newsletter: Newsletter;
  timeZone: string;
  composedSubject: string;
  notice?: string;
  error?: string;
  /** Addresses to put back in the test form after a refusal. */
  testAddresses?: string;
  nonce?: string;
}

/** A digest: the compose form while it is a draft; its schedule, progress, articles and failures after. */
export function renderDigestPage(frame: EditorFrame, detail: DigestDetail, options: DigestPageOptions): string {
  const { digest, composition, progress } = detail;
  const { locale } = frame.site;
  const zone = options.timeZone;
  const when = (at: string) => formatLocalTime(at, zone, locale);
  const isLetter = digest.kind === 'letter';
  const hasProgress = ['sending', 'paused', 'sent', 'cancelled'].includes(digest.status) && digest.sendRequestedAt;
  const inAnHour = new Date(Date.now() + 3600_000);
  return page(
    'digest',
    frame,
    digest.subject,
    {
      id: digest.id,
      newsletter: options.newsletter,
      subject: digest.subject,
      status: digest.status,
      statusLabel: STATUS_LABELS[digest.status] ?? digest.status,
      statusLine: `${detail.articles.length} ${plural(detail.articles.length, 'article', 'articles')} · revision ${digest.revision ?? 0}`,
      kindLabel: isLetter ? 'Letter' : 'Digest',
      isLetter,
      isDraft: digest.status === 'draft',
      isScheduled: digest.status === 'scheduled',
      isReady: digest.status === 'ready',
      isSending: digest.status === 'sending',
      isPaused: digest.status === 'paused',
      canCancel: digest.status === 'sending' || digest.status === 'paused',
      isPublic: ['sending', 'paused', 'sent'].includes(digest.status),
      hasProgress,
      revision: digest.revision ?? 0,
      updatedBy: digest.updatedBy ?? digest.createdBy ?? 'nobody yet',
      notice: options.notice,
      error: options.error,
      testAddresses: options.testAddresses ?? '',
      missingArticles:
        detail.missingArticleIds.length > 0
          ? `${detail.missingArticleIds.length} ${plural(detail.missingArticleIds.length, 'article was', 'articles were')} unpublished and will be left out.`
          : '',
      composedSubject: options.composedSubject,
      subjectOverride: composition.subject ?? '',
      preheaderOverride: composition.preheader ?? '',
      note: composition.note,
      letter: composition.letter ?? null,
      timeZone: zone,
      defaultScheduleAt: toLocalInputValue(digest.scheduledFor ? new Date(digest.scheduledFor) : inAnHour, zone),
      scheduledLabel: digest.scheduledFor ? when(digest.scheduledFor) : '',
      articles: detail.articles.map((article) => ({ ...article, when: when(article.publishedAt) })),
      candidates: detail.candidates.map((article) => ({ ...article, when: when(article.publishedAt) })),
      progress,
      ...progressLabels(progress),
      failures: detail.failures,
      omitted: detail.omitted,
      timeline: detail.timeline.map((entry) => ({
        label: entry.label,
        when: formatLocalTime(entry.at, zone, locale, { withSeconds: true }),
      })),
      nonce: options.nonce,
      refreshSeconds: digest.status === 'sending' ? 10 : undefined,
    },
    options.nonce,
  );
}

/** The size line's warning: over the budget, or close to Gmail's clipping. */
function sizeWarning(issue: LoadedIssue): string | undefined {
  const kb = (bytes: number) => Math.ceil(bytes / 1024);
  if (issue.htmlBytes > GMAIL_CLIP_BYTES) {
    return `At ${kb(issue.htmlBytes)} KB Gmail will clip this email and hide its end, the unsubscribe link with it: shorten the note or letter.`;
  }
  if (issue.isOverBudget || issue.htmlBytes > issue.budgetBytes) {
    return `At ${kb(issue.htmlBytes)} KB this email is over the ${kb(issue.budgetBytes)} KB budget and near Gmail’s 102 KB clipping: shorten the note or letter.`;
  }
  if (issue.htmlBytes > issue.budgetBytes * 0.9) {
    return `At ${kb(issue.htmlBytes)} KB this email is near its ${kb(issue.budgetBytes)} KB budget (Gmail clips at 102 KB).`;
  }
  return undefined;
}

/** The preview: both widths side by side, the text part, the size, what was left out, the audit's findings. */
export function renderPreviewPage(
  frame: EditorFrame,
  issue: LoadedIssue,
  options: { newsletter: Newsletter; text: string; auditFindings?: AuditFinding[] },
): string {
  return page('preview', frame, `Preview: ${issue.body.subject}`, {
    isWide: true,
    id: issue.digest.id,
    newsletter: options.newsletter,
    kindLabel: issue.digest.kind === 'letter' ? 'Letter' : 'Digest',
    subject: issue.body.subject,
    preheader: issue.body.preheader,
    htmlKb: (issue.htmlBytes / 1024).toFixed(1),
    budgetKb: Math.round(issue.budgetBytes / 1024),
    sizeWarning: sizeWarning(issue),
    isFrozen: issue.isFrozen,
    omitted: issue.omitted,
    auditFindings: options.auditFindings,
    isAudited: options.auditFindings !== undefined,
    text: options.text,
  });
}

/** "Send to N readers?" */
export function renderConfirmSendPage(
  frame: EditorFrame,
  input: {
    digestId: string;
    subject: string;
    kind: string;
    isDraft: boolean;
    revision: number;
    readers: number;
    newsletter: Newsletter;
  },
): string {
  return page('confirm-send', frame, 'Send?', {
    id: input.digestId,
    subject: input.subject,
    kindLabel: input.kind === 'letter' ? 'Letter' : 'Digest',
    isDraft: input.isDraft,
    revision: input.revision,
    readers: input.readers,
    readerNoun: plural(input.readers, 'reader', 'readers'),
    newsletter: input.newsletter,
  });
}

/** A short message in the editor's frame (an error, or where to go next). */
export function renderEditorNotice(
  frame: EditorFrame,
  input: { title: string; message: string; isError?: boolean; backHref?: string; backLabel?: string },
): string {
  return page('notice', frame, input.title, {
    ...input,
    backHref: input.backHref ?? '/editor',
    backLabel: input.backLabel ?? 'Back to the newsroom',
  });
}
