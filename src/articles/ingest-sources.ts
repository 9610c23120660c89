/**
 * Ingest: read each source (a file path or an http(s) URL), parse it into articles, and store each feed's articles
 * in one atomic upsert. A source that cannot be read or parsed is reported with its reason and stores nothing; the
 * other sources go on. Fetching is bounded in time (a server that trickles or never finishes is cut off) and in
 * size (the body is streamed and abandoned as soon as it passes the limit, never buffered whole).
 */
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { AppError, isAppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ArticleStore } from './article-store.js';
import { charsetFromContentType } from './decode-feed-text.js';
import { parseFeed } from './parse-feed.js';

/** What ingest needs. */
export interface IngestSourcesDeps {
  store: Pick<ArticleStore, 'upsertMany'>;
  /** The fetch implementation. @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
  logger: Logger;
  /** Largest feed accepted, in bytes. */
  maxBytes: number;
  /** Longest a fetch may take, from request to last byte, in milliseconds. */
  fetchTimeoutMs: number;
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
  const report: IngestReport = { ingested: 0, updated: 0, unchanged: 0, rejected: [], sources: [] };
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
  const counts = await deps.store.upsertMany(parsed.articles);
  totals.ingested += counts.ingested;
  totals.updated += counts.updated;
  totals.unchanged += counts.unchanged;
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

async function readSource(
  deps: IngestSourcesDeps,
  source: string,
  validators: FeedValidators | undefined,
): Promise<SourceDocument> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(source)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') {
    return fetchFeed(source, {
      fetch: deps.fetch ?? globalThis.fetch,
      maxBytes: deps.maxBytes,
      timeoutMs: deps.fetchTimeoutMs,
      validators,
    });
  }
  if (scheme === 'file') return { bytes: await readFeedFile(fileURLToPath(source), deps.maxBytes) };
  if (scheme)
    throw new AppError(
      'feed_rejected',
      `feed_rejected: unsupported source scheme "${scheme}:" (use a file path or an http(s) URL)`,
    );
  return { bytes: await readFeedFile(source, deps.maxBytes) };
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
function validatorsOf(headers: { get(name: string): string | null }): FeedValidators | undefined {
  const etag = headers.get('etag')?.slice(0, 200);
  const lastModified = headers.get('last-modified')?.slice(0, 100);
  if (!etag && !lastModified) return undefined;
  return { ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
}

/**
 * Fetches a feed with one deadline for the whole exchange (headers and body) and a byte cap enforced while
 * streaming; with validators it asks only for a changed feed and reports a 304 as not modified. Throws
 * `feed_rejected` naming the HTTP status, the timeout, the size or the network error.
 */
export async function fetchFeed(
  url: string,
  options: { fetch: typeof fetch; maxBytes: number; timeoutMs: number; validators?: FeedValidators },
): Promise<SourceDocument> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('timeout'));
  }, options.timeoutMs);
  const fail = (reason: string) => new AppError('feed_rejected', `feed_rejected: ${reason}`);
  try {
    let response: Response;
    try {
      response = await options.fetch(url, {
        signal: controller.signal,
        redirect: 'follow',
        headers: {
          accept:
            'application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5',
          'user-agent': 'Letterpress feed reader',
          ...conditionalHeaders(options.validators),
        },
      });
    } catch (error) {
      if (timedOut) throw fail(`no response within ${options.timeoutMs} ms`);
      throw fail(`could not fetch (${networkReason(error)})`);
    }
    if (response.status === 304 && options.validators) {
      await response.body?.cancel().catch(() => {});
      return {
        bytes: Buffer.alloc(0),
        url: response.url || url,
        validators: validatorsOf(response.headers),
        isNotModified: true,
      };
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw fail(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
    }
    const declaredLength = Number(response.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declaredLength) && declaredLength > options.maxBytes) {
      controller.abort();
      throw fail(`the feed is ${declaredLength} bytes, over the ${options.maxBytes}-byte limit`);
    }
    const chunks: Uint8Array[] = [];
    let received = 0;
    if (response.body) {
      const reader = response.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          received += value.byteLength;
          if (received > options.maxBytes) {
            controller.abort();
            throw fail(`the feed is over the ${options.maxBytes}-byte limit (stopped reading at ${received} bytes)`);
          }
          chunks.push(value);
        }
      } catch (error) {
        if (isAppError(error)) throw error;
        if (timedOut)
          throw fail(`the feed did not finish arriving within ${options.timeoutMs} ms (${received} bytes received)`);
        throw fail(`the connection failed while reading the feed (${networkReason(error)})`);
      }
    }
    return {
      bytes: Buffer.concat(chunks, received),
      url: response.url || url,
      charset: charsetFromContentType(response.headers.get('content-type')),
      validators: validatorsOf(response.headers),
    };
  } finally {
    clearTimeout(timer);
  }
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}

/** A source safe to log or show: no credentials, no query string (private feed URLs often carry a key there). */
export function describeSource(source: string): string {
  if (!/^https?:\/\//i.test(source)) return source;
  try {
    const url = new URL(source);
    return `${url.protocol}//${url.host}${url.pathname}${url.search ? '?…' : ''}`;
  } catch {
    return '(unparseable url)';
  }
}
