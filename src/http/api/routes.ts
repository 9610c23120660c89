/**
 * The editor API (`/api/v1`, `Authorization: Bearer <token>` of `EDITOR_TOKENS`): the newsroom's pages as JSON.
 * Newsletters, articles, feeds, drafts and digests (create, update, preview, test, send, schedule, unschedule, pause,
 * resume, cancel, status). Each route is declared once with its zod schemas; `/api/v1/openapi.json` is generated
 * from the same declarations. Changes are refused from another site's `Origin`, like the pages'.
 */
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { App } from '../../app.js';
import { ArticleSchema } from '../../articles/article.js';
import { findNewsletter, newsletterTimeZone } from '../../config.js';
import { cancelDigest, pauseDigest, resumeDigest } from '../../delivery/control-digest.js';
import { requestTestSend } from '../../delivery/request-test-send.js';
import { scheduleDigest, unscheduleDigest } from '../../delivery/schedule-digest.js';
import { sendNow } from '../../delivery/send-now.js';
import { describeProgress } from '../../delivery/describe-progress.js';
import { createDraft } from '../../digests/create-draft.js';
import { loadIssue } from '../../digests/load-issue.js';
import { GMAIL_CLIP_BYTES } from '../../digests/render-issue.js';
import { flattenSections, selectArticles } from '../../digests/select-articles.js';
import { loadArticlesInOrder, updateDraft } from '../../digests/update-draft.js';
import { AppError } from '../../errors.js';
import { renderPreview } from '../../mail/compose-message.js';
import { parseSendTime } from '../../newsletters/send-time.js';
import { describeDigest } from '../../newsroom/describe-digest.js';
import { describeFeeds } from '../../newsroom/describe-feeds.js';
import { describeNewsletter, summarizeDigest } from '../../newsroom/describe-newsletter.js';
import { checkOrigin } from '../access/require-token.js';
import { editorGuard, digestAndNewsletter } from '../editor/editor-kit.js';
import type { HttpApp } from '../http-env.js';
import { createApi } from './define-api.js';
import {
  ArticleListItemSchema,
  ArticleListQuerySchema,
  CreateDraftRequestSchema,
  DigestDetailSchema,
  DigestListQuerySchema,
  DigestParamsSchema,
  DigestSummarySchema,
  EmptyRequestSchema,
  FeedReportSchema,
  NewsletterOverviewSchema,
  NewsletterParamsSchema,
  PauseRequestSchema,
  PreviewSchema,
  ProgressSchema,
  ScheduleRequestSchema,
  SendRequestSchema,
  TestRequestSchema,
  UpdateDraftRequestSchema,
} from './schemas.js';

/** Where the API lives. */
export const API_BASE = '/api/v1';

/** Largest request body, in bytes (a long letter fits many times over). */
export const API_BODY_MAX_BYTES = 512 * 1024;

/** Registers the API and its OpenAPI document. */
export function registerEditorApi(http: HttpApp, app: App): void {
  const site = app.config.site;
  const guard = editorGuard(app, { allowBasic: false });
  const sameOrigin = checkOrigin(() => [new URL(site.baseUrl).origin]);
  const api = createApi(http, API_BASE);

  // The document describes the API and holds nothing private, but stays closed while the API is.
  let documentJson: string | undefined;
  http.get(`${API_BASE}/openapi.json`, (c) => {
    if (app.config.http.editorTokens.length === 0) return c.text('Not found', 404);
    documentJson ??= JSON.stringify(
      api.openApiDocument({
        title: `${site.name} newsroom API`,
        version: '1',
        description: 'Compose, preview, test, schedule and send the newsletters. Bearer token from EDITOR_TOKENS.',
      }),
    );
    return c.body(documentJson, 200, { 'Content-Type': 'application/json; charset=utf-8' });
  });
  const limit = bodyLimit({
    maxSize: API_BODY_MAX_BYTES,
    onError: (c) =>
      c.json({ error: { code: 'input_invalid', message: `body: over ${API_BODY_MAX_BYTES / 1024} KB` } }, 413),
  });
  http.use(`${API_BASE}/*`, guard, sameOrigin, limit);

  const detailOf = async (digestId: string) => {
    const { newsletter } = await digestAndNewsletter(app, digestId);
    const detail = await describeDigest(app, { digestId, newsletter, site });
    if (!detail) throw new AppError('digest_not_found', `no digest "${digestId}"`);
    return detail;
  };
  const summaryOf = async (digestId: string) => {
    const { digest } = await digestAndNewsletter(app, digestId);
    return summarizeDigest(digest, app.clock());
  };
  const listDigests = async (query: z.infer<typeof DigestListQuerySchema>) => {
    if (query.newsletter) findNewsletter(app.config, query.newsletter);
    const digests = query.newsletter
      ? await app.digests.listByNewsletter(query.newsletter, 1000)
      : await app.digests.list(1000);
    const now = app.clock();
    return {
      digests: digests
        .filter((digest) => !query.status || digest.status === query.status)
        .slice(0, query.limit)
        .map((digest) => summarizeDigest(digest, now)),
    };
  };

  api.route({
    method: 'get',
    operationId: 'listNewsletters',
    path: '/newsletters',
    summary: 'Every newsletter: readers, last issue, what is scheduled, sending or drafted, new articles, feeds',
    response: z.object({ newsletters: z.array(NewsletterOverviewSchema) }),
    handle: async () => ({
      newsletters: await Promise.all(
        app.config.newsletters.map((newsletter) => describeNewsletter(app, { newsletter, site, historyLimit: 10 })),
      ),
    }),
  });

  api.route({
    method: 'get',
    operationId: 'getNewsletter',
    path: '/newsletters/{id}',
    summary: 'One newsletter with its whole history',
    params: NewsletterParamsSchema,
    response: NewsletterOverviewSchema,
    handle: ({ params }) => describeNewsletter(app, { newsletter: findNewsletter(app.config, params.id), site }),
  });

  api.route({
    method: 'get',
    operationId: 'listArticles',
    path: '/articles',
    summary: 'Stored articles, newest first (of one newsletter’s sections with `newsletter`)',
    query: ArticleListQuerySchema,
    response: z.object({ articles: z.array(ArticleListItemSchema) }),
    handle: async ({ query }) => {
      const newest = await app.articles.list(query.newsletter ? Math.max(query.limit * 4, 200) : query.limit);
      const articles = query.newsletter
        ? flattenSections(
            selectArticles(
              newest,
              { ...findNewsletter(app.config, query.newsletter), maxArticles: query.limit },
              undefined,
            ),
          )
        : newest;
      return { articles: articles.map((article) => ArticleSchema.parse(article)) };
    },
  });

  api.route({
    method: 'get',
    operationId: 'listFeeds',
    path: '/feeds',
    summary: 'Every configured feed and how its last poll went',
    response: z.object({ feeds: z.array(FeedReportSchema) }),
    handle: async () => ({ feeds: await describeFeeds(app, app.config.newsletters) }),
  });

  api.route({
    method: 'get',
    operationId: 'listDigests',
    path: '/digests',
    summary: 'Digests and letters, newest first, by newsletter and status',
    query: DigestListQuerySchema,
    response: z.object({ digests: z.array(DigestSummarySchema) }),
    handle: ({ query }) => listDigests(query),
  });

  api.route({
    method: 'get',
    operationId: 'listDrafts',
    path: '/drafts',
    summary: 'Open drafts, newest first',
    query: DigestListQuerySchema.omit({ status: true }),
    response: z.object({ digests: z.array(DigestSummarySchema) }),
    handle: ({ query }) => listDigests({ ...query, status: 'draft' }),
  });

  api.route({
    method: 'post',
    operationId: 'createDraft',
    path: '/digests',
    summary: 'Start a draft: a digest of the suggested (or given) articles, or a letter',
    body: CreateDraftRequestSchema,
    response: DigestDetailSchema,
    status: 201,
    handle: async ({ body, principal }) => {
      const newsletter = findNewsletter(app.config, body.newsletterId);
      const articles = body.articleIds ? await loadArticlesInOrder(app, [...new Set(body.articleIds)]) : undefined;
      const { digest } = await createDraft(app, {
        newsletter,
        kind: body.kind,
        articles,
        since: body.since ? new Date(body.since) : undefined,
        createdBy: principal,
        allowEmpty: body.articleIds !== undefined,
        composition: {
          note: body.note,
          subject: body.subject,
          preheader: body.preheader,
          ...(body.kind === 'letter'
            ? {
                letter: {
                  title: body.letter?.title ?? 'A letter from the newsroom',
                  body: body.letter?.body ?? '',
                  author: body.letter?.author ?? principal,
                },
              }
            : {}),
        },
      });
      return detailOf(digest.id);
    },
  });

  api.route({
    method: 'get',
    operationId: 'getDigest',
    path: '/digests/{id}',
    summary: 'One digest: articles, composition, timeline, progress, failures',
    params: DigestParamsSchema,
    response: DigestDetailSchema,
    handle: ({ params }) => detailOf(params.id),
  });

  api.route({
    method: 'patch',
    operationId: 'updateDraft',
    path: '/digests/{id}',
    summary: 'Change a draft: articles in order, note, subject and preheader overrides, a letter’s parts',
    params: DigestParamsSchema,
    body: UpdateDraftRequestSchema,
    response: DigestDetailSchema,
    handle: async ({ params, body, principal }) => {
      const { newsletter } = await digestAndNewsletter(app, params.id);
      await updateDraft(app, { digestId: params.id, newsletter, edit: body, by: principal });
      return detailOf(params.id);
    },
  });

  api.route({
    method: 'get',
    operationId: 'previewDigest',
    path: '/digests/{id}/preview',
    summary: 'The email as it would go out (a draft rendered now): both parts, size against the budget',
    params: DigestParamsSchema,
    response: PreviewSchema,
    handle: async ({ params }) => {
      const { newsletter } = await digestAndNewsletter(app, params.id);
      const issue = await loadIssue(app, { digestId: params.id, newsletter, site });
      const message = { ...issue, newsletter, site, secret: app.config.secret };
      return {
        subject: issue.body.subject,
        preheader: issue.body.preheader,
        html: renderPreview(message, 'html'),
        text: renderPreview(message, 'text'),
        htmlBytes: issue.htmlBytes,
        budgetBytes: issue.budgetBytes,
        gmailClipBytes: GMAIL_CLIP_BYTES,
        isOverBudget: issue.isOverBudget,
        isFrozen: issue.isFrozen,
        omitted: issue.omitted,
      };
    },
  });

  api.route({
    method: 'post',
    operationId: 'testDigest',
    path: '/digests/{id}/test',
    summary: 'Send a test to up to five addresses (subject marked [Test]; never counted as a delivery)',
    params: DigestParamsSchema,
    body: TestRequestSchema,
    response: z.object({ queued: z.literal(true), to: z.array(z.string()) }),
    status: 202,
    handle: async ({ params, body, principal }) => {
      const { to } = await requestTestSend(app, { digestId: params.id, to: body.to, requestedBy: principal });
      return { queued: true as const, to };
    },
  });

  api.route({
    method: 'post',
    operationId: 'sendDigest',
    path: '/digests/{id}/send',
    summary: 'Send now (a draft is frozen first; with `revision`, only if it is still that revision)',
    params: DigestParamsSchema,
    body: SendRequestSchema,
    response: DigestSummarySchema,
    status: 202,
    handle: async ({ params, body, principal }) => {
      const { newsletter } = await digestAndNewsletter(app, params.id);
      await sendNow(app, { digestId: params.id, newsletter, site, by: principal, expectedRevision: body.revision });
      return summaryOf(params.id);
    },
  });

  api.route({
    method: 'post',
    operationId: 'scheduleDigest',
    path: '/digests/{id}/schedule',
    summary: 'Schedule a draft: `at` in ISO 8601; without an offset it is read in the newsletter’s time zone',
    params: DigestParamsSchema,
    body: ScheduleRequestSchema,
    response: DigestSummarySchema,
    handle: async ({ params, body, principal }) => {
      const { newsletter } = await digestAndNewsletter(app, params.id);
      const at = parseSendTime(body.at, newsletterTimeZone(newsletter, site));
      await scheduleDigest(app, {
        digestId: params.id,
        newsletter,
        site,
        at,
        by: principal,
        expectedRevision: body.revision,
      });
      return summaryOf(params.id);
    },
  });

  const control = (
    operationId: string,
    verb: string,
    summary: string,
    body: z.ZodType,
    run: (digestId: string, body: { reason?: string }, by: string) => Promise<unknown>,
  ) =>
    api.route({
      method: 'post',
      operationId,
      path: `/digests/{id}/${verb}`,
      summary,
      params: DigestParamsSchema,
      body,
      response: DigestSummarySchema,
      handle: async ({ params, body: parsed, principal }) => {
        await run(params.id, parsed as { reason?: string }, principal);
        return summaryOf(params.id);
      },
    });
  control(
    'unscheduleDigest',
    'unschedule',
    'Take a scheduled digest back to a draft',
    EmptyRequestSchema,
    (id, _b, by) => unscheduleDigest(app, { digestId: id, by }),
  );
  control('pauseDigest', 'pause', 'Pause a digest that is sending', PauseRequestSchema, (id, body, by) =>
    pauseDigest(app, { digestId: id, reason: body.reason ?? `paused by ${by}` }),
  );
  control('resumeDigest', 'resume', 'Resume a paused digest', EmptyRequestSchema, (id) =>
    resumeDigest(app, { digestId: id }),
  );
  control(
    'cancelDigest',
    'cancel',
    'Cancel: a draft or scheduled digest is withdrawn; a sending one reaches nobody else',
    EmptyRequestSchema,
    (id, _b, by) => cancelDigest(app, { digestId: id, by }),
  );

  api.route({
    method: 'get',
    operationId: 'digestStatus',
    path: '/digests/{id}/status',
    summary: 'Progress (delivered, failed, skipped, remaining, rate, ETA) and failure reasons',
    params: DigestParamsSchema,
    response: z.object({
      progress: ProgressSchema,
      failures: z.array(z.object({ subscriberId: z.number().int(), reason: z.string() })),
    }),
    handle: async ({ params }) => {
      const { digest } = await digestAndNewsletter(app, params.id);
      const failures = digest.counts.failed > 0 ? await app.ledger.listFailures(digest.id, 100) : [];
      return { progress: describeProgress(digest, app.clock()), failures };
    },
  });
}
