/**
 * The editor API's request and response schemas: the routes parse requests and shape responses with them, and the
 * OpenAPI document is generated from the same schemas, so the two cannot drift apart.
 */
import { z } from 'zod';
import { ArticleSchema } from '../../articles/article.js';
import { TestRecipientsSchema } from '../../delivery/request-test-send.js';
import {
  DigestCompositionSchema,
  DigestSchema,
  DIGEST_STATUSES,
  LetterSchema,
  OmittedArticleSchema,
} from '../../digests/digest.js';
import { ArticleIdSchema, DraftEditSchema } from '../../digests/update-draft.js';
import { FeedStateSchema } from '../../feeds/feed-state.js';
import { ScheduleRunSchema } from '../../newsletters/schedule-run-store.js';

const NewsletterIdSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'must be a newsletter id');

/** Every error answer: a code from the error table and a sentence naming the field and the reason. */
export const ApiErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** `{id}` of a digest route. */
export const DigestParamsSchema = z.object({ id: DigestSchema.shape.id });
/** `{id}` of a newsletter route. */
export const NewsletterParamsSchema = z.object({ id: NewsletterIdSchema });

/** A sending digest's progress. */
export const ProgressSchema = z.object({
  status: z.enum(DIGEST_STATUSES),
  recipients: z.number().int(),
  delivered: z.number().int(),
  failed: z.number().int(),
  skipped: z.number().int(),
  remaining: z.number().int(),
  percent: z.number(),
  ratePerSecond: z.number().nullable(),
  etaSeconds: z.number().nullable(),
  pausedReason: z.string().nullable(),
});

/** A digest in a list. */
export const DigestSummarySchema = z.object({
  id: z.string(),
  kind: z.enum(['digest', 'letter']),
  status: z.enum(DIGEST_STATUSES),
  subject: z.string(),
  articleCount: z.number().int(),
  createdAt: z.string(),
  createdBy: z.string().nullable(),
  updatedBy: z.string().nullable(),
  scheduledFor: z.string().nullable(),
  sendRequestedAt: z.string().nullable(),
  sentAt: z.string().nullable(),
  counts: DigestSchema.shape.counts,
  progress: ProgressSchema,
});

/** An article of a digest, or one that could be added. */
export const ArticleLineSchema = z.object({
  id: z.string(),
  title: z.string(),
  section: z.string(),
  publishedAt: z.string(),
  url: z.string(),
  isPinned: z.boolean(),
  carriedBy: z.string().nullable(),
});

/** One digest with everything the newsroom knows about it. */
export const DigestDetailSchema = z.object({
  digest: DigestSchema,
  composition: DigestCompositionSchema,
  articles: z.array(ArticleLineSchema),
  missingArticleIds: z.array(z.string()),
  candidates: z.array(ArticleLineSchema),
  timeline: z.array(z.object({ label: z.string(), at: z.string() })),
  progress: ProgressSchema,
  failures: z.array(z.object({ subscriberId: z.number().int(), reason: z.string() })),
  omitted: z.array(OmittedArticleSchema),
});

/** A feed with the newsletters that list it. */
export const FeedReportSchema = z.object({
  url: z.string(),
  intervalMinutes: z.number(),
  newsletterIds: z.array(z.string()),
  state: FeedStateSchema.nullable(),
});

/** A newsletter as the newsroom sees it. */
export const NewsletterOverviewSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  timeZone: z.string(),
  activeReaders: z.number().int(),
  lastIssue: DigestSummarySchema.nullable(),
  scheduled: z.array(DigestSummarySchema),
  sending: z.array(DigestSummarySchema),
  drafts: z.array(DigestSummarySchema),
  waitingArticles: z.array(ArticleSchema.pick({ id: true, title: true, section: true, publishedAt: true })),
  schedule: z
    .object({
      cron: z.string(),
      mode: z.enum(['send', 'draft']),
      nextRuns: z.array(z.string()),
      lastRun: ScheduleRunSchema.nullable(),
    })
    .nullable(),
  feeds: z.array(FeedReportSchema),
  history: z.array(DigestSummarySchema),
});

/** An issue as it would go out: both parts, the size against the budget, what the email leaves out. */
export const PreviewSchema = z.object({
  subject: z.string(),
  preheader: z.string(),
  html: z.string(),
  text: z.string(),
  htmlBytes: z.number().int(),
  budgetBytes: z.number().int(),
  gmailClipBytes: z.number().int(),
  isOverBudget: z.boolean(),
  isFrozen: z.boolean(),
  omitted: z.array(OmittedArticleSchema),
});

/** `GET /digests` and `/drafts`. */
export const DigestListQuerySchema = z.object({
  newsletter: NewsletterIdSchema.optional(),
  status: z.enum(DIGEST_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** `GET /articles`. */
export const ArticleListQuerySchema = z.object({
  newsletter: NewsletterIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** An article in a list (without its body). */
export const ArticleListItemSchema = ArticleSchema.omit({ contentHtml: true, contentHash: true });

/** `POST /digests`: a new draft; without `articleIds` a digest starts from the suggested articles. */
export const CreateDraftRequestSchema = z
  .object({
    newsletterId: NewsletterIdSchema,
    kind: z.enum(['digest', 'letter']).default('digest'),
    /** Articles in order, chosen on purpose (they may repeat an earlier issue's). */
    articleIds: z.array(ArticleIdSchema).max(100).optional(),
    /** Suggest articles published after this time instead of since the last send. */
    since: z.string().datetime({ offset: true }).optional(),
    note: z.string().max(20_000).optional(),
    subject: z.string().trim().min(1).max(200).optional(),
    preheader: z.string().trim().min(1).max(200).optional(),
    letter: LetterSchema.partial({ author: true, body: true }).optional(),
  })
  .strict();

/** `PATCH /digests/{id}`. */
export const UpdateDraftRequestSchema = DraftEditSchema.strict();

/** `POST /digests/{id}/test`. */
export const TestRequestSchema = z.object({ to: TestRecipientsSchema }).strict();

/** `POST /digests/{id}/send`. */
export const SendRequestSchema = z.object({ revision: z.number().int().min(0).optional() }).strict();

/** `POST /digests/{id}/schedule`: ISO 8601; without an offset it is read in the newsletter's time zone. */
export const ScheduleRequestSchema = z
  .object({ at: z.string().min(1).max(40), revision: z.number().int().min(0).optional() })
  .strict();

/** `POST /digests/{id}/pause`. */
export const PauseRequestSchema = z.object({ reason: z.string().trim().min(1).max(300).optional() }).strict();

/** A request without a body (unschedule, resume, cancel). */
export const EmptyRequestSchema = z.object({}).strict();
