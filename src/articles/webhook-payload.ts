/**
 * The CMS webhook: a signed JSON push of one or more articles. The signature is checked over the raw bytes before
 * anything is parsed; the body goes through a zod schema; each article goes through the same normaliser, sanitizer
 * and link cleaner as feed items; and the whole payload is stored in one atomic upsert or not at all.
 *
 * Signature header (`X-Letterpress-Signature`, or whatever the route maps to it):
 * - `sha256=<hex>`: HMAC-SHA256 of the raw body with the shared secret;
 * - `t=<unix seconds>,sha256=<hex>`: HMAC-SHA256 of `<t>.<raw body>`; the timestamp is signed, so a captured
 *   request cannot be replayed once it is older than the tolerance.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
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

/** One article as a CMS sends it. */
export const WebhookArticleSchema = z.object({
  /** The CMS's own id for the article (numbers are accepted and read as strings). */
  id: z.union([z.string().trim().min(1).max(500), z.number().int().nonnegative().transform(String)]),
  url: httpUrl,
  title: z.string().trim().min(1).max(1000),
  standfirst: z.string().max(10_000).optional(),
  authors: z.array(z.string().trim().min(1).max(200)).max(20).optional(),
  section: z.string().trim().min(1).max(100).optional(),
  publishedAt: z.string().datetime({ offset: true }),
  updatedAt: z.string().datetime({ offset: true }).optional(),
  image: z
    .object({ url: httpUrl, alt: z.string().max(500), caption: z.string().max(1000).optional() })
    .optional(),
  contentHtml: z.string().max(2_000_000).optional(),
});
export type WebhookArticle = z.infer<typeof WebhookArticleSchema>;

/** The webhook body: `{ articles: [...] }`, 1 to 500 articles. */
export const WebhookPayloadSchema = z.object({
  articles: z.array(WebhookArticleSchema).min(1, 'must hold at least one article').max(500, 'at most 500 articles per call'),
});
export type WebhookPayload = z.infer<typeof WebhookPayloadSchema>;

/** Options for {@link verifyWebhookSignature}. */
export interface VerifySignatureOptions {
  /** The clock. @defaultValue new Date() */
  now?: Date;
  /** Largest accepted age (or clock skew) of a timestamped signature, in seconds. @defaultValue 300 */
  toleranceSeconds?: number;
  /** Refuse signatures without `t=`. @defaultValue false */
  requireTimestamp?: boolean;
}

/**
 * Checks a webhook signature header against the raw body (see the module comment); constant-time comparison.
 * Returns false for a missing, malformed, wrong or expired signature.
 */
export function verifyWebhookSignature(
  secret: string,
  rawBody: Buffer | string,
  header: string | undefined,
  options: VerifySignatureOptions = {},
): boolean {
  if (!secret || !header) return false;
  const fields = new Map<string, string>();
  for (const part of header.split(',')) {
    const equals = part.indexOf('=');
    if (equals > 0) fields.set(part.slice(0, equals).trim().toLowerCase(), part.slice(equals + 1).trim());
  }
  const signature = fields.get('sha256');
  if (!signature || !/^[0-9a-f]{64}$/i.test(signature)) return false;
  const timestamp = fields.get('t');
  if (timestamp === undefined && options.requireTimestamp) return false;
  const hmac = createHmac('sha256', secret);
  if (timestamp !== undefined) {
    if (!/^\d{1,12}$/.test(timestamp)) return false;
    const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
    if (Math.abs(nowSeconds - Number(timestamp)) > (options.toleranceSeconds ?? 300)) return false;
    hmac.update(`${timestamp}.`);
  }
  hmac.update(rawBody);
  return timingSafeEqual(hmac.digest(), Buffer.from(signature, 'hex'));
}

/** Builds the signature header for a body (for CMS integrations, tests and the CLI). */
export function signWebhookBody(secret: string, rawBody: Buffer | string, timestamp?: number): string {
  const hmac = createHmac('sha256', secret);
  if (timestamp !== undefined) hmac.update(`${timestamp}.`);
  hmac.update(rawBody);
  const signature = `sha256=${hmac.digest('hex')}`;
  return timestamp === undefined ? signature : `t=${timestamp},${signature}`;
}

/** What webhook ingest needs. */
export interface IngestWebhookDeps {
  store: Pick<ArticleStore, 'upsertMany'>;
  /** The shared webhook secret. */
  secret: string;
  /** The clock. @defaultValue () => new Date() */
  clock?: () => Date;
  logger?: Logger;
  /** Largest body accepted, in bytes. @defaultValue 5 MiB */
  maxBytes?: number;
  /** Signature options (timestamp tolerance, whether a timestamp is required). */
  signature?: Omit<VerifySignatureOptions, 'now'>;
}

/** What a webhook call stored. */
export interface WebhookIngestReport extends UpsertCounts {
  /** Ids of the stored articles, in payload order. */
  articleIds: string[];
}

/**
 * Verifies, parses, normalises and stores a webhook body. Throws `unauthorized` for a bad signature and
 * `input_invalid` (naming the article index and field) for a bad body; in either case nothing is stored.
 */
export async function ingestWebhookPayload(
  deps: IngestWebhookDeps,
  rawBody: Buffer | string,
  signatureHeader: string | undefined,
): Promise<WebhookIngestReport> {
  const now = (deps.clock ?? (() => new Date()))();
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  const maxBytes = deps.maxBytes ?? 5 * 1024 * 1024;
  if (body.length > maxBytes) throw new AppError('input_invalid', `webhook body: ${body.length} bytes, over the ${maxBytes}-byte limit`);
  if (!verifyWebhookSignature(deps.secret, body, signatureHeader, { ...deps.signature, now })) {
    throw new AppError('unauthorized', 'webhook signature missing, malformed, wrong or expired');
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new AppError('input_invalid', `webhook body: not valid JSON (${(error as Error).message})`);
  }
  const parsed = WebhookPayloadSchema.safeParse(json);
  if (!parsed.success) throw new AppError('input_invalid', `webhook body: ${formatZodIssues(parsed.error)}`);

  const articles: Article[] = [];
  const problems: string[] = [];
  parsed.data.articles.forEach((input, index) => {
    const entry = toFeedEntry(input);
    const context = { source: 'webhook', feedBase: input.url, now };
    const result = normalizeEntry(entry, context, identifyEntry(entry, context));
    if (result.ok) articles.push(result.article);
    else problems.push(`articles.${index}: ${result.reason}`);
  });
  if (problems.length > 0) throw new AppError('input_invalid', `webhook body: ${problems.join('; ')}`);

  const counts = await deps.store.upsertMany(articles);
  deps.logger?.info({ articles: articles.length, ...counts }, 'webhook articles ingested');
  return { ...counts, articleIds: articles.map((article) => article.id) };
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
