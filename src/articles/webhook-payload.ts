/**
 * The CMS webhook's payload: a JSON push of one or more articles. The route checks the signature over the raw bytes
 * before anything is parsed (`src/http/webhooks/signed-request.ts`); here the body goes through a zod schema, each
 * article through the same normaliser, sanitizer and link cleaner as feed items, and the whole payload is stored in
 * one atomic upsert or not at all. Within it, a change to an article another source created, or an older version
 * than the one stored, is refused and listed in the answer while the rest is stored.
 */
import { z } from 'zod';
import { AppError, formatZodIssues } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ArticleStore, UpsertCounts } from './article-store.js';
import type { Article } from './article.js';
import { identifyEntry, normalizeEntry } from './normalize-entry.js';
import type { FeedEntry } from './read-feed-entries.js';

const httpUrl = z
  .string()
  .max(2000)
  .url()
  .refine((value) => /^https?:\/\//i.test(value), 'must be an http(s) URL');

/** A CMS's own id for an article (numbers are accepted and read as strings). */
const CmsIdSchema = z.union([z.string().trim().min(1).max(500), z.number().int().nonnegative().transform(String)]);

/** One article as a CMS sends it. */
export const WebhookArticleSchema = z.object({
  /** The CMS's own id for the article (numbers are accepted and read as strings). */
  id: CmsIdSchema,
  url: httpUrl,
  title: z.string().trim().min(1).max(1000),
  standfirst: z.string().max(10_000).optional(),
  authors: z.array(z.string().trim().min(1).max(200)).max(20).optional(),
  section: z.string().trim().min(1).max(100).optional(),
  publishedAt: z.string().datetime({ offset: true }),
  updatedAt: z.string().datetime({ offset: true }).optional(),
  image: z.object({ url: httpUrl, alt: z.string().max(500), caption: z.string().max(1000).optional() }).optional(),
  contentHtml: z.string().max(2_000_000).optional(),
});
export type WebhookArticle = z.infer<typeof WebhookArticleSchema>;

/**
 * The webhook body: `{ articles: [...] }` (1 to 500 articles) and/or `{ unpublished: [id, ...] }` (the CMS's ids of
 * articles it took down, 1 to 500).
 */
export const WebhookPayloadSchema = z
  .object({
    articles: z
      .array(WebhookArticleSchema)
      .min(1, 'must hold at least one article')
      .max(500, 'at most 500 articles per call')
      .optional(),
    unpublished: z
      .array(CmsIdSchema)
      .min(1, 'must name at least one article')
      .max(500, 'at most 500 ids per call')
      .optional(),
  })
  .refine((body) => body.articles !== undefined || body.unpublished !== undefined, {
    message: 'must hold articles, unpublished ids, or both',
  });
export type WebhookPayload = z.infer<typeof WebhookPayloadSchema>;

/** What webhook ingest needs. */
export interface IngestWebhookDeps {
  store: Pick<ArticleStore, 'upsertMany' | 'rememberCmsIds'>;
  /** The clock. @defaultValue () => new Date() */
  clock?: () => Date;
  logger?: Logger;
  /** Largest body accepted, in bytes. @defaultValue 5 MiB */
  maxBytes?: number;
}

/** What a webhook call stored, and what it refused (an older version, or an article another source owns). */
export interface WebhookIngestReport extends UpsertCounts {
  /** Ids of the stored articles, in payload order. */
  articleIds: string[];
  /** The CMS ids the body asked to unpublish (the caller takes them down: see `unpublishArticles`). */
  unpublished: string[];
}

/**
 * Parses, normalises and stores a webhook body whose signature the route has verified. Throws `input_invalid`
 * (naming the article index and field) for a bad body; then nothing is stored.
 */
export async function ingestWebhookPayload(
  deps: IngestWebhookDeps,
  rawBody: Buffer | string,
): Promise<WebhookIngestReport> {
  const now = (deps.clock ?? (() => new Date()))();
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  const maxBytes = deps.maxBytes ?? 5 * 1024 * 1024;
  if (body.length > maxBytes)
    throw new AppError('input_invalid', `webhook body: ${body.length} bytes, over the ${maxBytes}-byte limit`);
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new AppError('input_invalid', `webhook body: not valid JSON (${(error as Error).message})`);
  }
  const parsed = WebhookPayloadSchema.safeParse(json);
  if (!parsed.success) throw new AppError('input_invalid', `webhook body: ${formatZodIssues(parsed.error)}`);

  const articles: Article[] = [];
  const cmsIds: { cmsId: string; articleId: string }[] = [];
  const problems: string[] = [];
  (parsed.data.articles ?? []).forEach((input, index) => {
    const entry = toFeedEntry(input);
    const context = { source: 'webhook', feedBase: input.url, now };
    const result = normalizeEntry(entry, context, identifyEntry(entry, context));
    if (result.ok) {
      articles.push(result.article);
      cmsIds.push({ cmsId: input.id, articleId: result.article.id });
    } else problems.push(`articles.${index}: ${result.reason}`);
  });
  if (problems.length > 0) throw new AppError('input_invalid', `webhook body: ${problems.join('; ')}`);

  const counts = await deps.store.upsertMany(articles);
  await deps.store.rememberCmsIds(cmsIds);
  const { refused: _refused, ...totals } = counts;
  deps.logger?.info({ articles: articles.length, ...totals }, 'webhook articles ingested');
  return { ...counts, articleIds: articles.map((article) => article.id), unpublished: parsed.data.unpublished ?? [] };
}

function toFeedEntry(input: WebhookArticle): FeedEntry {
  return {
    guid: input.id,
    guidIsPermaLink: false,
    link: input.url,
    title: input.title,
    summary: input.standfirst,
    contentHtml: input.contentHtml,
    authors: input.authors ?? [],
    categories: input.section ? [input.section] : [],
    published: input.publishedAt,
    updated: input.updatedAt,
    images: input.image ? [{ url: input.image.url, alt: input.image.alt, caption: input.image.caption }] : [],
  };
}
