/**
 * Ingest: read each source (a file path or an http(s) URL), parse it into articles, and store each feed's articles
 * in one atomic upsert. A source that cannot be read or parsed is reported with its reason and stores nothing; the
 * other sources go on. URLs go through the guarded fetch (`src/net/fetch-public-url.ts`: public addresses only,
 * bounded in time and size); local files are read only when the caller allows it (the CLI).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { AppError, isAppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ArticleStore, RefusedArticle } from './article-store.js';
import { charsetFromContentType } from './decode-feed-text.js';
import { describeSource } from './describe-source.js';
import { parseFeed } from './parse-feed.js';
import { fetchPublicUrl, type FetchPublicUrlOptions, type ResolveHost } from '../net/fetch-public-url.js';

/** What ingest needs. */
export interface IngestSourcesDeps {
  store: Pick<ArticleStore, 'upsertMany'>;
  logger: Logger;
  /** Largest feed accepted, in bytes. */
  maxBytes: number;
  /** Longest a fetch may take, from request to last byte, in milliseconds. */
  fetchTimeoutMs: number;
  /** Feeds may be fetched from non-public addresses (`FEED_ALLOW_PRIVATE_ADDRESSES`). @defaultValue false */
  allowPrivateAddresses?: FetchPublicUrlOptions['allowPrivateAddresses'];
  /** Sources may be local file paths; only the CLI, run by the operator, allows it. @defaultValue false */
  allowFilePaths?: boolean;
  /** Host name resolution for fetches (tests). @defaultValue dns.lookup */
  resolveHost?: ResolveHost;
  /** The clock. @defaultValue () => new Date() */
  clock?: () => Date;
  /** Sources read at the same time. @defaultValue 4 */
  concurrency?: number;
}

/** What a server said identifies the version of a feed it sent, for a conditional GET next time. */
export interface FeedValidators {
  etag?: string;
  lastModified?: string;
}

/** Options of one ingest run. */
export interface IngestSourcesOptions {
  /** Validators from the last fetch of a URL: the request asks for the feed only if it changed (a 304 otherwise). */
  validators?: Record<string, FeedValidators>;
}

/** How one source went. */
export interface SourceReport {
  source: string;
  /** `not-modified`: the server answered 304 to a conditional request; nothing was read or stored. */
  status: 'ok' | 'rejected' | 'not-modified';
  /** The validators the server sent with this version (http(s) sources that sent any). */
  validators?: FeedValidators;
  /** Articles the source yielded (0 when rejected). */
  articles: number;
  reason?: string;
  /** Items of the feed that did not become articles, with their reasons. */
  skippedItems?: { reason: string; count: number }[];
}

/** The outcome of one ingest run. */
export interface IngestReport {
  ingested: number;
  updated: number;
  unchanged: number;
  /** Older versions refused because a newer one is stored. */
  outdated: number;
  /** Changes refused because another source created the article. */
  collisions: number;
  /** Each refused article with the source that offered it. */
  refused: (RefusedArticle & { source: string })[];
  rejected: { source: string; reason: string }[];
  sources: SourceReport[];
}

/** Ingests every source (see the module comment) and reports per source and in total. */
export async function ingestSources(
  deps: IngestSourcesDeps,
  sources: string[],
  options: IngestSourcesOptions = {},
): Promise<IngestReport> {
  const clock = deps.clock ?? (() => new Date());
  const report: IngestReport = {
    ingested: 0,
    updated: 0,
    unchanged: 0,
    outdated: 0,
    collisions: 0,
    refused: [],
    rejected: [],
    sources: [],
  };
  const results: SourceReport[] = new Array<SourceReport>(sources.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const index = next;
      next += 1;
      const source = sources[index];
      if (source === undefined) return;
      results[index] = await ingestOne(deps, source, clock(), report, options.validators?.[source]);
    }
  };
  const concurrency = Math.max(1, Math.min(deps.concurrency ?? 4, sources.length));
  await Promise.all(Array.from({ length: concurrency }, worker));
  report.sources = results;
  report.rejected = results
    .filter((r) => r.status === 'rejected')
    .map((r) => ({ source: r.source, reason: r.reason ?? 'rejected' }));
  return report;
}

async function ingestOne(
  deps: IngestSourcesDeps,
  source: string,
  now: Date,
  totals: IngestReport,
  validators: FeedValidators | undefined,
): Promise<SourceReport> {
  const log = deps.logger.child({ source: describeSource(source) });
  let parsed: ReturnType<typeof parseFeed>;
  let document: SourceDocument;
  try {
    document = await readSource(deps, source, validators);
    if (document.isNotModified) {
      log.info('feed source not modified');
      return { source, status: 'not-modified', articles: 0, validators: document.validators ?? validators };
    }
    parsed = parseFeed(document.bytes, {
      source,
      baseUrl: document.url,
      charset: document.charset,
      maxBytes: deps.maxBytes,
      now,
    });
  } catch (error) {
    if (!isAppError(error, 'feed_rejected')) throw error;
    log.warn({ reason: error.message }, 'feed source rejected');
    return { source, status: 'rejected', articles: 0, reason: error.message };
  }
  // Storage failures (Redis down) are not the feed's fault: they propagate instead of being reported as rejections.
  const { refused, ...counts } = await deps.store.upsertMany(parsed.articles);
  totals.ingested += counts.ingested;
  totals.updated += counts.updated;
  totals.unchanged += counts.unchanged;
  totals.outdated += counts.outdated;
  totals.collisions += counts.collisions;
  totals.refused.push(...refused.map((article) => ({ ...article, source: describeSource(source) })));
  log.info({ articles: parsed.articles.length, ...counts, skipped: parsed.skipped }, 'feed source ingested');
  return {
    source,
    status: 'ok',
    articles: parsed.articles.length,
    ...(document.validators ? { validators: document.validators } : {}),
    ...(parsed.skipped.length > 0 ? { skippedItems: parsed.skipped } : {}),
  };
}

/** Bytes of a source, plus the URL, charset and validators when it came over http(s). */
interface SourceDocument {
  bytes: Buffer;
  url?: string;
  charset?: string;
  validators?: FeedValidators;
  /** The server answered 304 to a conditional request: `bytes` is empty. */
  isNotModified?: boolean;
}

const FEED_ACCEPT =
  'application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5';

async function readSource(
  deps: IngestSourcesDeps,
  source: string,
  validators: FeedValidators | undefined,
): Promise<SourceDocument> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(source)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') return fetchFeed(deps, source, validators);
  if (scheme && scheme !== 'file') {
    throw new AppError(
      'feed_rejected',
      `feed_rejected: unsupported source scheme "${scheme}:" (use a file path or an http(s) URL)`,
    );
  }
  if (!deps.allowFilePaths) {
    throw new AppError('feed_rejected', 'feed_rejected: local files are read only from the command line');
  }
  return { bytes: await readFeedFile(scheme === 'file' ? fileURLToPath(source) : source, deps.maxBytes) };
}

/**
 * Fetches a feed through the guarded fetch (public addresses only, bounded in time and size); with validators it asks
 * only for a changed feed and reports a 304 as not modified.
 */
async function fetchFeed(
  deps: IngestSourcesDeps,
  url: string,
  validators: FeedValidators | undefined,
): Promise<SourceDocument> {
  try {
    const document = await fetchPublicUrl(url, {
      maxBytes: deps.maxBytes,
      timeoutMs: deps.fetchTimeoutMs,
      allowPrivateAddresses: deps.allowPrivateAddresses ?? false,
      resolveHost: deps.resolveHost,
      noun: 'the feed',
      headers: { accept: FEED_ACCEPT, 'user-agent': 'Letterpress feed reader', ...conditionalHeaders(validators) },
      passStatuses: validators ? [304] : [],
    });
    const fresh = validatorsOf(document.headers);
    if (document.status === 304) {
      return { bytes: document.body, url: document.url, validators: fresh ?? validators, isNotModified: true };
    }
    const charset = charsetFromContentType(document.headers['content-type']);
    return { bytes: document.body, url: document.url, charset, ...(fresh ? { validators: fresh } : {}) };
  } catch (error) {
    if (!isAppError(error, 'fetch_failed')) throw error;
    throw new AppError('feed_rejected', `feed_rejected: ${error.message}`);
  }
}

async function readFeedFile(path: string, maxBytes: number): Promise<Buffer> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new AppError('feed_rejected', `feed_rejected: ${path} is not a file`);
    if (info.size > maxBytes) {
      throw new AppError(
        'feed_rejected',
        `feed_rejected: the feed is ${info.size} bytes, over the ${maxBytes}-byte limit`,
      );
    }
    return await readFile(path);
  } catch (error) {
    if (isAppError(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new AppError('feed_rejected', `feed_rejected: cannot read ${path} (${reason})`);
  }
}

/** The request headers of a conditional GET (RFC 9110 13.1): the version we hold, by entity tag or by date. */
function conditionalHeaders(validators: FeedValidators | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (validators?.etag) headers['if-none-match'] = validators.etag;
  if (validators?.lastModified) headers['if-modified-since'] = validators.lastModified;
  return headers;
}

/** The validators a response carries, if any (header values kept as sent, within a sane length). */
function validatorsOf(headers: IncomingHttpHeaders): FeedValidators | undefined {
  const etag = headers.etag?.slice(0, 200);
  const lastModified = headers['last-modified']?.slice(0, 100);
  if (!etag && !lastModified) return undefined;
  return { ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
}
