/**
 * One feed entry → one `Article`: links resolved and cleaned, text extracted, HTML sanitized, dates made sane, an
 * image chosen, ids and content hash computed, and the result checked against `ArticleSchema`. An entry that cannot
 * become a valid article is turned down with a reason instead (the caller counts those reasons).
 */
import { ArticleSchema, type Article, type ArticleImage } from './article.js';
import { articleIdFor, hashArticleContent } from './article-identity.js';
import { collapseWhitespace, htmlToText, toPlainText, truncateAtWord } from './extract-text.js';
import type { EntryImage, FeedEntry } from './read-feed-entries.js';
import { absoluteLink, isTrackingResource, sanitizeContent } from './sanitize-content.js';
import { formatZodIssues } from '../errors.js';

/** Longest standfirst kept, in characters (cut at a word boundary). */
export const STANDFIRST_MAX_CHARS = 600;
/** Longest title kept, in characters. */
export const TITLE_MAX_CHARS = 300;
/** Dates further ahead than this are clock errors or embargo leaks: they are clamped to now. */
export const MAX_FUTURE_SKEW_MS = 2 * 24 * 60 * 60 * 1000;
/** Dates before this are placeholders ("1970-01-01", "0001-01-01") and are treated as missing. */
export const EARLIEST_PLAUSIBLE_DATE = Date.UTC(1990, 0, 1);

/** What the normaliser knows about the feed around an entry. */
export interface NormalizeContext {
  /** Where the entry came from (feed URL, path, or `webhook`). */
  source: string;
  /** Absolute http(s) base URL in scope for the feed (document URL, feed xml:base, or channel link). */
  feedBase?: string;
  /** Origin of the feed's site, qualifying guids that are not URIs. */
  siteOrigin?: string;
  /** The feed's own date, a fallback for undated entries. */
  feedDate?: Date;
  now: Date;
  /** FeedBurner redirect link → original article link, when the feed carries `feedburner:origLink`. */
  originalLinks?: ReadonlyMap<string, string>;
}

/** The outcome for one entry. */
export type NormalizedEntry =
  { ok: true; article: Article; isPublishedAtStated: boolean } | { ok: false; reason: string };

/** Where an entry points and what it is called: its base URL, canonical link and stable id. */
export interface EntryIdentity {
  itemBase?: string;
  url?: string;
  id?: string;
}

/** Resolves an entry's base, canonical link and id; cheap enough to run on every entry of a large feed. */
export function identifyEntry(entry: FeedEntry, context: NormalizeContext): EntryIdentity {
  const itemBase = resolveBase(entry.base, context.feedBase) ?? context.feedBase;
  const url = canonicalLink(entry, itemBase, context.originalLinks);
  const site = (url ? originOf(url) : undefined) ?? context.siteOrigin ?? context.source;
  return { itemBase, url, id: articleIdFor({ guid: entry.guid, url, site }) };
}

/** Normalises one entry (see the module comment). Never throws for bad input; returns a reason instead. */
export function normalizeEntry(
  entry: FeedEntry,
  context: NormalizeContext,
  identity = identifyEntry(entry, context),
): NormalizedEntry {
  const { itemBase, url } = identity;
  if (!url) {
    const hasTitle = Boolean((entry.title && toPlainText(entry.title)) || entry.summary?.trim());
    return { ok: false, reason: hasTitle ? 'item has no usable http(s) link' : 'item has neither a title nor a link' };
  }
  const contentBase = resolveBase(entry.contentBase, itemBase) ?? itemBase;

  const rawContent =
    entry.contentHtml ??
    (entry.contentText ? textToHtml(entry.contentText) : undefined) ??
    (entry.summary && /<[a-z][^<>]*>/i.test(entry.summary) ? entry.summary : undefined);
  const contentHtml = rawContent ? sanitizeContent(rawContent, contentBase) : '';

  let standfirst = entry.summary ? toPlainText(entry.summary) : '';
  if (!standfirst && contentHtml) standfirst = htmlToText(contentHtml);
  standfirst = truncateAtWord(stripBoilerplate(standfirst), STANDFIRST_MAX_CHARS);

  let title = entry.title ? (entry.titleIsHtml ? htmlToText(entry.title) : toPlainText(entry.title)) : '';
  if (!title && standfirst) title = firstWords(standfirst, 12);
  title = truncateAtWord(title, TITLE_MAX_CHARS);

  if (!title) return { ok: false, reason: 'item has no title and no text to make one from' };

  const dates = chooseDates(entry, context);
  const authors = uniqueTexts(entry.authors, 200).slice(0, 20);
  const categories = uniqueTexts(entry.categories, 100).slice(0, 50);
  const image = chooseImage(entry.images, itemBase, contentHtml);

  const fields = {
    url,
    title,
    standfirst,
    authors,
    section: categories[0] ?? 'News',
    categories,
    publishedAt: dates.publishedAt,
    ...(dates.updatedAt ? { updatedAt: dates.updatedAt } : {}),
    ...(image ? { image } : {}),
    contentHtml,
  };
  const id = identity.id;
  if (!id) return { ok: false, reason: 'item has no id' };
  const versionAt = dates.updatedAt ?? (dates.isStated ? dates.publishedAt : undefined);
  const candidate = {
    id,
    ...fields,
    ...(versionAt ? { versionAt } : {}),
    source: context.source.slice(0, 2000),
    contentHash: hashArticleContent(fields, { isPublishedAtStated: dates.isStated }),
  };
  const parsed = ArticleSchema.safeParse(candidate);
  if (!parsed.success) return { ok: false, reason: `item failed validation: ${formatZodIssues(parsed.error)}` };
  return { ok: true, article: parsed.data, isPublishedAtStated: dates.isStated };
}

/** Resolves an xml:base against the base in scope; only http(s) bases count (a `javascript:` base is ignored). */
export function resolveBase(raw: string | undefined, base: string | undefined): string | undefined {
  if (!raw) return undefined;
  try {
    const resolved = base ? new URL(raw.trim(), base) : new URL(raw.trim());
    return resolved.protocol === 'http:' || resolved.protocol === 'https:' ? resolved.href : undefined;
  } catch {
    return undefined;
  }
}

function canonicalLink(
  entry: FeedEntry,
  base: string | undefined,
  originalLinks: ReadonlyMap<string, string> | undefined,
): string | undefined {
  const candidates: string[] = [];
  if (entry.link) candidates.push(originalLinks?.get(entry.link.trim()) ?? entry.link);
  // An RSS guid is a permalink unless it says otherwise; Atom ids and JSON ids are often the URL too.
  if (entry.guid && entry.guidIsPermaLink !== false && /^https?:\/\//i.test(entry.guid.trim()))
    candidates.push(entry.guid);
  for (const candidate of candidates) {
    const link = absoluteLink(candidate.trim(), base, ['http:', 'https:']);
    if (link) return link;
  }
  return undefined;
}

/** Parses the date formats feeds actually use (RFC 822 with any zone name, ISO 8601, W3CDTF); undefined if hopeless. */
export function parseFeedDate(raw: string | undefined): Date | undefined {
  if (!raw) return undefined;
  let value = collapseWhitespace(raw);
  if (!value || value.length > 100) return undefined;
  // Without a zone, JavaScript reads a date-time as local time; feeds mean UTC (RFC 822 says so for "GMT"-less dates),
  // and the server's own time zone must not change what an article's date is.
  const hasZone = /(?:Z|[+-]\d{2}:?\d{2}|\b(?:GMT|UTC?|[ECMP][SD]T|[A-Z]{3,5}))\s*$/.test(value);
  if (!hasZone) {
    value = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(value)
      ? `${value.replace(' ', 'T')}Z`
      : /^\d{4}-\d{2}-\d{2}$/.test(value)
        ? value
        : `${value} GMT`;
  }
  const attempts: string[] = [value];
  // Localised weekday names ("Ter, 05 Mar 2024 ...") defeat Date.parse; the weekday carries no information.
  const noWeekday = value.replace(/^[^\d,]{1,20},\s*/, '');
  attempts.push(noWeekday);
  const zoneMatch = /\s([A-Z]{2,5})$/.exec(noWeekday);
  if (zoneMatch?.[1] && zoneMatch[1] !== 'GMT' && zoneMatch[1] !== 'UTC' && zoneMatch[1] !== 'UT') {
    const offset = ZONE_OFFSETS[zoneMatch[1]] ?? '+0000';
    attempts.push(`${noWeekday.slice(0, zoneMatch.index)} ${offset}`);
  }
  for (const attempt of attempts) {
    const time = Date.parse(attempt);
    if (!Number.isNaN(time)) return new Date(time);
  }
  return undefined;
}

/** Zone abbreviations JavaScript does not know but feeds use. */
const ZONE_OFFSETS: Record<string, string> = {
  BST: '+0100',
  IST: '+0530',
  CET: '+0100',
  CEST: '+0200',
  MET: '+0100',
  MEST: '+0200',
  EET: '+0200',
  EEST: '+0300',
  WET: '+0000',
  WEST: '+0100',
  MSK: '+0300',
  JST: '+0900',
  KST: '+0900',
  HKT: '+0800',
  SGT: '+0800',
  AEST: '+1000',
  AEDT: '+1100',
  ACST: '+0930',
  AWST: '+0800',
  NZST: '+1200',
  NZDT: '+1300',
  AKST: '-0900',
  AKDT: '-0800',
  HST: '-1000',
  AST: '-0400',
  ADT: '-0300',
  NST: '-0330',
  BRT: '-0300',
};

function chooseDates(
  entry: FeedEntry,
  context: NormalizeContext,
): { publishedAt: string; updatedAt?: string; isStated: boolean } {
  const now = context.now.getTime();
  const plausible = (date: Date | undefined): Date | undefined => {
    if (!date) return undefined;
    const time = date.getTime();
    if (time < EARLIEST_PLAUSIBLE_DATE) return undefined;
    return date;
  };
  const isFarFuture = (date: Date) => date.getTime() > now + MAX_FUTURE_SKEW_MS;
  const published = plausible(parseFeedDate(entry.published));
  const updated = plausible(parseFeedDate(entry.updated));
  const stated = published ?? updated;
  let publishedAt: Date;
  let isStated = false;
  if (stated && !isFarFuture(stated)) {
    publishedAt = stated;
    isStated = true;
  } else if (stated) {
    publishedAt = context.now;
  } else {
    const feedDate = plausible(context.feedDate);
    publishedAt = feedDate && !isFarFuture(feedDate) ? feedDate : context.now;
  }
  const updatedAt =
    updated && !isFarFuture(updated) && updated.getTime() !== publishedAt.getTime() ? updated : undefined;
  return { publishedAt: publishedAt.toISOString(), updatedAt: updatedAt?.toISOString(), isStated };
}

function chooseImage(images: EntryImage[], base: string | undefined, contentHtml: string): ArticleImage | undefined {
  for (const image of images) {
    if ((image.width !== undefined && image.width <= 1) || (image.height !== undefined && image.height <= 1)) continue;
    const url = absoluteLink(image.url.trim(), base, ['http:', 'https:']);
    if (!url || isTrackingResource(url)) continue;
    return {
      url,
      alt: truncateAtWord(image.alt ? toPlainText(image.alt) : '', 500),
      ...(image.caption ? { caption: truncateAtWord(toPlainText(image.caption), 1000) } : {}),
    };
  }
  // The sanitizer's output is regular (double-quoted attributes, tracking already gone), so a pattern is enough here.
  const tag = /<img\s[^<>]*>/i.exec(contentHtml)?.[0];
  const src = tag && /\ssrc="([^"]+)"/.exec(tag)?.[1];
  if (!tag || !src) return undefined;
  const alt = /\salt="([^"]*)"/.exec(tag)?.[1] ?? '';
  return { url: decodeAttribute(src), alt: truncateAtWord(decodeAttribute(alt), 500) };
}

function decodeAttribute(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

function uniqueTexts(values: string[], max: number): string[] {
  const seen = new Set<string>();
  const result: string[] = [];
  for (const value of values) {
    const plain = truncateAtWord(toPlainText(value), max);
    if (!plain || seen.has(plain.toLowerCase())) continue;
    seen.add(plain.toLowerCase());
    result.push(plain);
  }
  return result;
}

function firstWords(text: string, count: number): string {
  const words = text.split(' ');
  return words.length <= count
    ? text
    : `${words
        .slice(0, count)
        .join(' ')
        .replace(/[\s,;:.\-–—]+$/u, '')}…`;
}

/** Removes the "The post … appeared first on …" trailer WordPress adds to feed excerpts, and "[…]"-style tails. */
function stripBoilerplate(text: string): string {
  return text
    .replace(/\s*The post .{1,300}? appeared first on .{1,200}?\.?$/s, '')
    .replace(/\s*(?:\[(?:…|\.\.\.|&hellip;)\]|Continue reading.{0,80}|Read more.{0,40})$/i, '…')
    .trim();
}

function textToHtml(text: string): string {
  const escape = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return text
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.trim())
    .filter(Boolean)
    .map((paragraph) => `<p>${escape(paragraph).replace(/\n/g, '<br>')}</p>`)
    .join('\n');
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
