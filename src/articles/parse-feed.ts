/**
 * Feed bytes → normalised articles. RSS 0.9x/2.0, RSS 1.0 (RDF), Atom 0.3/1.0 and JSON Feed 1.0/1.1.
 *
 * The pipeline: refuse oversize input before touching it → decode bytes (BOM, HTTP charset, XML declaration,
 * sniffing) → screen the document (no entity declarations, no HTML pages, no external DTDs) → parse with feedsmith
 * (one round of repairs for common breakage) → read entries into a neutral shape → drop duplicate ids (first wins)
 * → keep the newest `maxItems` → normalise each into an `Article`, counting the reasons for any that cannot be.
 * Every failure is an AppError `feed_rejected` whose message says why; nothing else escapes.
 */
import { parseAtomFeed, parseJsonFeed, parseRdfFeed, parseRssFeed } from 'feedsmith';
import { z } from 'zod';
import { AppError, isAppError } from '../errors.js';
import type { Article } from './article.js';
import { decodeFeedText } from './decode-feed-text.js';
import { toPlainText } from './extract-text.js';
import { identifyEntry, normalizeEntry, parseFeedDate, resolveBase, type NormalizeContext } from './normalize-entry.js';
import { readFeedEntries, type FeedDocument } from './read-feed-entries.js';
import { repairXml, screenFeedDocument } from './screen-feed-document.js';

/** Most entries taken from one feed: the newest this many; a 10,000-item archive feed stays bounded. */
export const MAX_ITEMS_PER_FEED = 1_000;

/** Options for {@link parseFeed}. */
export interface ParseFeedOptions {
  /** Where the bytes came from (URL or path); recorded on each article and used as a base when it is a URL. */
  source: string;
  /** The document's URL after redirects, the base for relative links when the feed gives none. */
  baseUrl?: string;
  /** Charset from the HTTP Content-Type header; overrides the XML declaration. */
  charset?: string;
  /** Largest input accepted, in bytes; larger input is refused before it is decoded. */
  maxBytes: number;
  /** The clock, for undated and future-dated entries. @defaultValue new Date() */
  now?: Date;
  /** Most entries kept (newest first). @defaultValue {@link MAX_ITEMS_PER_FEED} */
  maxItems?: number;
}

/** The parse result: the contract's `{ title, articles }` plus what a report needs. */
export interface ParsedFeed {
  title: string;
  articles: Article[];
  format: FeedDocument['format'];
  /** The character encoding the bytes were read with. */
  encoding: string;
  /** Entries in the document, before de-duplication and the cap. */
  entryCount: number;
  /** Entries that did not become articles, grouped by reason. */
  skipped: { reason: string; count: number }[];
}

/** Parses feed bytes into articles (see the module comment); throws AppError `feed_rejected` with a clear reason. */
export function parseFeed(bytes: Buffer, options: ParseFeedOptions): ParsedFeed {
  try {
    return parseFeedUnsafe(bytes, options);
  } catch (error) {
    if (isAppError(error)) throw error;
    // feedsmith, iconv or sanitize-html failing on input nobody anticipated is still a rejected feed, not a crash.
    throw new AppError(
      'feed_rejected',
      `feed_rejected: could not be parsed (${(error as Error).message ?? String(error)})`,
    );
  }
}

function parseFeedUnsafe(bytes: Buffer, options: ParseFeedOptions): ParsedFeed {
  if (bytes.length > options.maxBytes) {
    throw new AppError(
      'feed_rejected',
      `feed_rejected: the feed is ${bytes.length} bytes, over the ${options.maxBytes}-byte limit`,
    );
  }
  if (bytes.length === 0) throw new AppError('feed_rejected', 'feed_rejected: empty document');
  const now = options.now ?? new Date();
  const maxItems = options.maxItems ?? MAX_ITEMS_PER_FEED;

  const decoded = decodeFeedText(bytes, { charset: options.charset });
  const screened = screenFeedDocument(decoded.text);
  const document =
    screened.kind === 'json' ? parseJsonDocument(screened.text) : parseXmlDocument(screened.text, screened.rootName);

  // A feed read from a file has no document URL; its own absolute self link is the next best base.
  const documentBase = httpUrl(options.baseUrl) ?? httpUrl(options.source) ?? httpUrl(document.selfLink);
  const channelLink = resolveBase(document.link, documentBase);
  const feedBase = resolveBase(document.base, channelLink ?? documentBase) ?? channelLink ?? documentBase;
  const context: NormalizeContext = {
    source: options.source,
    feedBase,
    siteOrigin: originOf(channelLink ?? documentBase),
    feedDate: parseFeedDate(document.date),
    now,
    originalLinks: screened.kind === 'xml' ? readFeedBurnerOriginalLinks(screened.text) : undefined,
  };

  const skipped = new Map<string, number>();
  const skip = (reason: string, count = 1) => skipped.set(reason, (skipped.get(reason) ?? 0) + count);

  // Duplicates inside one feed: the first occurrence in document order wins.
  const seen = new Set<string>();
  const unique: {
    entry: (typeof document.entries)[number];
    identity: ReturnType<typeof identifyEntry>;
    order: number;
  }[] = [];
  document.entries.forEach((entry, order) => {
    const identity = identifyEntry(entry, context);
    if (identity.id !== undefined && identity.url !== undefined) {
      if (seen.has(identity.id)) {
        skip('duplicate id in the same feed');
        return;
      }
      seen.add(identity.id);
    }
    unique.push({ entry, identity, order });
  });

  let selected = unique;
  if (unique.length > maxItems) {
    const dated = unique.map((candidate) => ({
      candidate,
      time: parseFeedDate(candidate.entry.published ?? candidate.entry.updated)?.getTime() ?? Number.NEGATIVE_INFINITY,
    }));
    // Newest first; undated entries keep document order behind the dated ones (feeds list newest first anyway).
    dated.sort((a, b) => (b.time === a.time ? a.candidate.order - b.candidate.order : b.time - a.time));
    selected = dated
      .slice(0, maxItems)
      .map((d) => d.candidate)
      .sort((a, b) => a.order - b.order);
    skip(`beyond the newest ${maxItems} items`, unique.length - maxItems);
  }

  const articles: Article[] = [];
  for (const { entry, identity } of selected) {
    const result = normalizeEntry(entry, context, identity);
    if (result.ok) articles.push(result.article);
    else skip(result.reason);
  }

  return {
    title: (document.title ? toPlainText(document.title) : '') || options.source,
    articles,
    format: document.format,
    encoding: decoded.encoding,
    entryCount: document.entries.length,
    skipped: [...skipped].map(([reason, count]) => ({ reason, count })),
  };
}

/** The minimal JSON Feed shape checked before feedsmith reads it. */
const JsonFeedShapeSchema = z.looseObject({
  version: z.unknown().optional(),
  items: z.array(z.unknown(), { error: 'must be an array of items' }),
});

function parseJsonDocument(text: string): FeedDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AppError('feed_rejected', `feed_rejected: not valid JSON (${(error as Error).message})`);
  }
  const shape = JsonFeedShapeSchema.safeParse(json);
  if (!shape.success) {
    throw new AppError('feed_rejected', 'feed_rejected: not a JSON Feed (no "items" array)');
  }
  // JSON Feed's version is a URL; "1.0"/"1.1" and missing versions are common and mean the same.
  const version = typeof shape.data.version === 'string' ? shape.data.version : '';
  const normalized = version.includes('jsonfeed.org/version/')
    ? shape.data
    : { ...shape.data, version: `https://jsonfeed.org/version/${version.startsWith('1.1') ? '1.1' : '1'}` };
  // feedsmith keys on a title; a JSON Feed without one is still readable.
  if (typeof normalized.title !== 'string' || normalized.title.trim() === '') normalized.title = 'Untitled feed';
  let feed: unknown;
  try {
    feed = parseJsonFeed(normalized);
  } catch (error) {
    throw new AppError('feed_rejected', `feed_rejected: not a JSON Feed (${(error as Error).message})`);
  }
  return readFeedEntries('json', feed);
}

function parseXmlDocument(text: string, rootName: string): FeedDocument {
  const local = rootName.replace(/^[^:]*:/, '').toLowerCase();
  const format: FeedDocument['format'] | undefined =
    local === 'rss' ? 'rss' : local === 'feed' ? 'atom' : local === 'rdf' ? 'rdf' : undefined;
  if (!format) {
    throw new AppError(
      'feed_rejected',
      `feed_rejected: not a feed (the root element is <${rootName.slice(0, 60)}>, not <rss>, <feed> or <rdf:RDF>)`,
    );
  }
  const parse = (input: string): unknown =>
    format === 'rss' ? parseRssFeed(input) : format === 'atom' ? parseAtomFeed(input) : parseRdfFeed(input);
  let feed: unknown;
  try {
    feed = parse(text);
  } catch (error) {
    const repaired = (error as Error).name === 'MalformedError' ? repairXml(text) : undefined;
    if (repaired === undefined) throw rejection(error, format);
    try {
      feed = parse(repaired);
    } catch (retryError) {
      throw rejection(retryError, format);
    }
  }
  return readFeedEntries(format, feed);
}

function rejection(error: unknown, format: FeedDocument['format']): AppError {
  const name = (error as Error).name;
  const cause = (error as Error & { cause?: unknown }).cause;
  if (name === 'MalformedError') {
    const detail = cause instanceof Error ? cause.message : String(cause ?? 'unknown error');
    return new AppError('feed_rejected', `feed_rejected: malformed XML (${detail.slice(0, 200)})`);
  }
  const what =
    format === 'rss'
      ? 'an RSS document without a channel'
      : format === 'atom'
        ? 'an Atom document without feed content'
        : 'an RDF document without a channel';
  return new AppError('feed_rejected', `feed_rejected: not a feed (${what})`);
}

/**
 * FeedBurner replaces each item link with a click-counting redirect (`feeds.feedburner.com/~r/…`) and puts the real
 * one in `feedburner:origLink`, which feedsmith does not read. This maps every redirect link found in an item to
 * that item's original link, so the article points at the publisher, not at the counter.
 */
function readFeedBurnerOriginalLinks(text: string): Map<string, string> | undefined {
  if (!/origLink\b/i.test(text)) return undefined;
  const map = new Map<string, string>();
  // indexOf rather than one lazy regex over the document: linear even when a hostile feed opens many items and
  // closes none.
  const opening = /<(item|entry)\b/gi;
  let match: RegExpExecArray | null;
  while ((match = opening.exec(text)) !== null) {
    const close = text.indexOf(`</${match[1]}>`, opening.lastIndex);
    if (close === -1) break;
    const body = text.slice(match.index, close);
    opening.lastIndex = close;
    const original = /<[\w-]*:?origLink\b[^<>]*>\s*(?:<!\[CDATA\[)?\s*([^<\]]+?)\s*(?:\]\]>)?\s*<\//i.exec(body)?.[1];
    if (!original) continue;
    const decoded = original.replace(/&amp;/g, '&');
    // FeedBurner's own hosts and its "MyBrand" custom domains (feeds.example.com/~r/…) alike.
    for (const redirect of body.matchAll(/https?:\/\/[^\s"'<>/]+\/~r\/[^\s"'<>]+/gi)) {
      map.set(redirect[0].replace(/&amp;/g, '&'), decoded);
    }
  }
  return map.size > 0 ? map : undefined;
}

function httpUrl(value: string | undefined): string | undefined {
  if (!value || !/^https?:\/\//i.test(value)) return undefined;
  try {
    return new URL(value).href;
  } catch {
    return undefined;
  }
}

function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
