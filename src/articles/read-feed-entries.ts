/**
 * Format-specific reading: turns feedsmith's RSS / Atom / RDF / JSON Feed objects into one neutral shape,
 * `FeedEntry`, that the normaliser understands. Nothing here sanitizes or resolves; it only picks fields, in the
 * order of preference each format's practice suggests. feedsmith's output is typed, but feeds lie about their
 * shapes, so every value is read defensively.
 */

/** An image candidate found in an entry's metadata (not in its HTML). */
export interface EntryImage {
  url: string;
  alt?: string;
  caption?: string;
  width?: number;
  height?: number;
}

/** One entry of a feed, format-neutral, raw (unsanitized, unresolved). */
export interface FeedEntry {
  /** guid / Atom id / JSON Feed id / rdf:about. */
  guid?: string;
  /** RSS `isPermaLink` (default true when a guid is present). */
  guidIsPermaLink?: boolean;
  link?: string;
  /** xml:base in scope of the entry (raw, may be relative to the feed's base). */
  base?: string;
  /** xml:base in scope of the content element, if it differs. */
  contentBase?: string;
  title?: string;
  /** True when the title is known to be markup (Atom type="html"/"xhtml"). */
  titleIsHtml?: boolean;
  /** Description / summary: HTML or text. */
  summary?: string;
  /** Full body as HTML. */
  contentHtml?: string;
  /** Full body as plain text (JSON Feed content_text, Atom type="text"). */
  contentText?: string;
  authors: string[];
  categories: string[];
  published?: string;
  updated?: string;
  images: EntryImage[];
}

/** A feed's own fields plus its entries. */
export interface FeedDocument {
  format: 'rss' | 'atom' | 'rdf' | 'json';
  title?: string;
  link?: string;
  /** The feed's own URL as it states it (atom:link rel="self", JSON Feed feed_url). */
  selfLink?: string;
  base?: string;
  /** The feed's own date (lastBuildDate, updated, dc:date), the fallback for undated entries. */
  date?: string;
  entries: FeedEntry[];
}

type Loose = Record<string, unknown>;

/** Reads feedsmith's parse result into a {@link FeedDocument}. */
export function readFeedEntries(format: FeedDocument['format'], feed: unknown): FeedDocument {
  const f = asRecord(feed) ?? {};
  switch (format) {
    case 'rss':
    case 'rdf':
      return readRss(format, f);
    case 'atom':
      return readAtom(f);
    case 'json':
      return readJson(f);
  }
}

function readRss(format: 'rss' | 'rdf', feed: Loose): FeedDocument {
  const dc = asRecord(feed.dc);
  const atom = asRecord(feed.atom);
  return {
    format,
    title: text(feed.title) ?? first(dc?.titles),
    link: text(feed.link) ?? alternateLink(atom?.links),
    selfLink: linkWithRel(atom?.links, 'self'),
    base: text(asRecord(feed.xml)?.base),
    date: text(feed.lastBuildDate) ?? text(feed.pubDate) ?? first(dc?.dates) ?? text(atom?.updated),
    entries: asArray(feed.items).map((raw) => readRssItem(asRecord(raw) ?? {})),
  };
}

function readRssItem(item: Loose): FeedEntry {
  const dc = asRecord(item.dc);
  const dcterms = asRecord(item.dcterms);
  const atom = asRecord(item.atom);
  const guid = asRecord(item.guid);
  const rdf = asRecord(item.rdf);
  const content = asRecord(item.content);
  const authors = [
    ...asArray(item.authors).map(personName),
    ...asArray(dc?.creators).map(text),
    ...asArray(atom?.authors).map(personName),
  ];
  const categories = [
    ...asArray(item.categories).map((c) => text(asRecord(c)?.name) ?? text(c)),
    ...asArray(dc?.subjects).map(text),
  ];
  const images: EntryImage[] = [...mediaImages(asRecord(item.media))];
  for (const enclosure of asArray(item.enclosures)) {
    const e = asRecord(enclosure);
    const url = text(e?.url);
    if (url && isImageType(text(e?.type), url)) images.push({ url });
  }
  const itunesImage = text(asRecord(item.itunes)?.image);
  if (itunesImage) images.push({ url: itunesImage });
  return {
    guid: text(guid?.value) ?? text(item.guid) ?? text(rdf?.about) ?? text(atom?.id),
    guidIsPermaLink: guid ? (typeof guid.isPermaLink === 'boolean' ? guid.isPermaLink : true) : undefined,
    link: text(item.link) ?? alternateLink(atom?.links),
    base: text(asRecord(item.xml)?.base),
    title: text(item.title) ?? first(dc?.titles) ?? textValue(atom?.title),
    summary: text(item.description) ?? first(dc?.descriptions) ?? textValue(atom?.summary),
    contentHtml: text(content?.encoded) ?? textValue(asRecord(atom?.content)),
    authors: compact(authors),
    categories: compact(categories),
    published: text(item.pubDate) ?? first(dc?.dates) ?? first(dcterms?.issued) ?? text(atom?.published),
    updated: first(dcterms?.modified) ?? text(atom?.updated),
    images,
  };
}

function readAtom(feed: Loose): FeedDocument {
  return {
    format: 'atom',
    title: textValue(feed.title),
    link: alternateLink(feed.links),
    selfLink: linkWithRel(feed.links, 'self'),
    base: text(asRecord(feed.xml)?.base),
    date: text(feed.updated) ?? first(asRecord(feed.dc)?.dates),
    entries: asArray(feed.entries).map((raw) => readAtomEntry(asRecord(raw) ?? {})),
  };
}

function readAtomEntry(entry: Loose): FeedEntry {
  const title = asRecord(entry.title);
  const titleType = text(title?.type)?.toLowerCase();
  const content = asRecord(entry.content);
  const contentType = text(content?.type)?.toLowerCase() ?? 'text';
  const contentValue = textValue(content);
  const isTextContent = contentType === 'text' || contentType === 'text/plain';
  const summary = asRecord(entry.summary);
  const summaryValue = textValue(summary);
  const summaryType = text(summary?.type)?.toLowerCase() ?? 'text';
  const images: EntryImage[] = [...mediaImages(asRecord(entry.media))];
  for (const link of asArray(entry.links)) {
    const l = asRecord(link);
    const href = text(l?.href);
    if (href && text(l?.rel) === 'enclosure' && isImageType(text(l?.type), href)) images.push({ url: href });
  }
  return {
    guid: text(entry.id),
    link: alternateLink(entry.links),
    base: text(asRecord(entry.xml)?.base),
    contentBase: text(asRecord(content?.xml)?.base),
    title: textValue(entry.title) ?? first(asRecord(entry.dc)?.titles),
    titleIsHtml: titleType !== undefined && titleType !== 'text' && titleType !== 'text/plain',
    // A text summary may contain "<" legitimately; escape it so the HTML path reads it back as the same text.
    summary:
      summaryValue !== undefined && (summaryType === 'text' || summaryType === 'text/plain')
        ? escapeText(summaryValue)
        : summaryValue,
    contentHtml: content?.src || isTextContent ? undefined : contentValue,
    contentText: isTextContent && !content?.src ? contentValue : undefined,
    authors: compact([...asArray(entry.authors).map(personName), ...asArray(asRecord(entry.dc)?.creators).map(text)]),
    categories: compact(
      asArray(entry.categories).map((c) => text(asRecord(c)?.label) ?? text(asRecord(c)?.term) ?? text(c)),
    ),
    published: text(entry.published) ?? first(asRecord(entry.dc)?.dates) ?? first(asRecord(entry.dcterms)?.issued),
    updated: text(entry.updated),
    images,
  };
}

function readJson(feed: Loose): FeedDocument {
  return {
    format: 'json',
    title: text(feed.title),
    link: text(feed.home_page_url),
    selfLink: text(feed.feed_url),
    entries: asArray(feed.items).map((raw) => readJsonItem(asRecord(raw) ?? {})),
  };
}

function readJsonItem(item: Loose): FeedEntry {
  const images: EntryImage[] = [];
  const image = text(item.image) ?? text(item.banner_image);
  if (image) images.push({ url: image });
  for (const attachment of asArray(item.attachments)) {
    const a = asRecord(attachment);
    const url = text(a?.url);
    if (url && isImageType(text(a?.mime_type), url)) images.push({ url, alt: text(a?.title) });
  }
  const id = item.id;
  return {
    // JSON Feed 1.0 allowed numeric ids; they are ids all the same.
    guid: typeof id === 'number' && Number.isFinite(id) ? String(id) : text(id),
    link: text(item.url) ?? text(item.external_url),
    title: text(item.title),
    summary: text(item.summary),
    contentHtml: text(item.content_html),
    contentText: text(item.content_text),
    authors: compact(asArray(item.authors).map(personName)),
    categories: compact(asArray(item.tags).map(text)),
    published: text(item.date_published),
    updated: text(item.date_modified),
    images,
  };
}

function mediaImages(media: Loose | undefined): EntryImage[] {
  if (!media) return [];
  const found: EntryImage[] = [];
  const groups = asArray(media.groups)
    .map(asRecord)
    .filter((g): g is Loose => g !== undefined);
  const scopes: Loose[] = [media, ...groups];
  for (const scope of scopes) {
    for (const raw of asArray(scope.contents)) {
      const content = asRecord(raw);
      const url = text(content?.url);
      if (!content || !url) continue;
      const medium = text(content.medium)?.toLowerCase();
      if (medium ? medium !== 'image' : !isImageType(text(content.type), url)) continue;
      found.push({ url, ...describeMedia(content, scope), width: num(content.width), height: num(content.height) });
    }
  }
  for (const scope of scopes) {
    for (const raw of asArray(scope.thumbnails)) {
      const thumbnail = asRecord(raw);
      const url = text(thumbnail?.url);
      if (url)
        found.push({ url, ...describeMedia({}, scope), width: num(thumbnail?.width), height: num(thumbnail?.height) });
    }
  }
  return found;
}

/**
 * Alt text and caption from Media RSS. Publishers use media:title for a short description of the picture (our alt
 * text) and media:description for the caption; when only one is present it serves as the alt text, and the
 * media:credit is appended to the caption.
 */
function describeMedia(content: Loose, scope: Loose): { alt?: string; caption?: string } {
  const title = textValue(content.title) ?? textValue(scope.title);
  const description = textValue(content.description) ?? textValue(scope.description);
  const credit = text(asRecord(asArray(content.credits)[0])?.value) ?? text(asRecord(asArray(scope.credits)[0])?.value);
  const alt = title ?? description;
  let caption = title ? description : undefined;
  if (credit) caption = caption ? `${caption} Photo: ${credit}` : `Photo: ${credit}`;
  return { alt, caption };
}

function alternateLink(links: unknown): string | undefined {
  const candidates = asArray(links)
    .map(asRecord)
    .filter((l): l is Loose => l !== undefined && text(l.href) !== undefined);
  const alternate =
    candidates.find((l) => (text(l.rel) ?? 'alternate') === 'alternate' && /html/i.test(text(l.type) ?? 'text/html')) ??
    candidates.find((l) => (text(l.rel) ?? 'alternate') === 'alternate');
  return text(alternate?.href);
}

function linkWithRel(links: unknown, rel: string): string | undefined {
  const found = asArray(links)
    .map(asRecord)
    .find((l) => l !== undefined && text(l.rel) === rel && text(l.href) !== undefined);
  return text(found?.href);
}

function personName(value: unknown): string | undefined {
  const person = asRecord(value);
  if (!person) return text(value);
  return text(person.name) ?? text(person.email)?.replace(/@.*/, '');
}

function isImageType(type: string | undefined, url: string): boolean {
  if (type) return /^image\//i.test(type);
  return /\.(?:jpe?g|png|gif|webp|avif)(?:[?#]|$)/i.test(url);
}

function escapeText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function asRecord(value: unknown): Loose | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Loose) : undefined;
}

function asArray(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  return value === undefined || value === null ? [] : [value];
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** Atom text constructs come as `{ value, type }`; some fields come as plain strings. */
function textValue(value: unknown): string | undefined {
  return text(value) ?? text(asRecord(value)?.value);
}

function first(value: unknown): string | undefined {
  for (const candidate of asArray(value)) {
    const found = text(candidate);
    if (found) return found;
  }
  return undefined;
}

function num(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

function compact(values: Array<string | undefined>): string[] {
  const seen = new Set<string>();
  const result: string[] = [];
  for (const value of values) {
    const trimmed = value?.trim();
    if (!trimmed || seen.has(trimmed.toLowerCase())) continue;
    seen.add(trimmed.toLowerCase());
    result.push(trimmed);
  }
  return result;
}
