/** Where the shared feed corpus lives (read-only, outside the repository), and small builders for test feeds. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The shared fixtures folder (`../shared/fixtures/feeds` next to the repository). */
export const FEED_FIXTURES = path.resolve(repoRoot, '../shared', 'fixtures', 'feeds');

/** True when the shared feed corpus is present; tests that need it skip themselves otherwise. */
export const hasFeedFixtures = existsSync(FEED_FIXTURES);

/** Path of one fixture, e.g. `fixture('realworld', 'TechCrunch.xml')`. */
export function fixture(folder: 'wellformed' | 'illformed' | 'realworld', name: string): string {
  return path.join(FEED_FIXTURES, folder, name);
}

/** The bundled demo feed. */
export const SAMPLE_FEED = path.join(repoRoot, 'src', 'demo', 'sample-feed.xml');

/** Escapes text for an XML element or attribute. */
export function xmlEscape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** One RSS item for a generated feed; every field optional. */
export interface RssItemSeed {
  title?: string;
  link?: string;
  guid?: string;
  description?: string;
  content?: string;
  pubDate?: string;
  categories?: string[];
  creator?: string;
}

/** Builds an RSS 2.0 document (content and dc namespaces) from item seeds. */
export function buildRss(
  items: RssItemSeed[],
  channel: { title?: string; link?: string; extraXml?: string } = {},
): string {
  const body = items
    .map((item) => {
      const parts: string[] = [];
      if (item.title !== undefined) parts.push(`<title>${xmlEscape(item.title)}</title>`);
      if (item.link !== undefined) parts.push(`<link>${xmlEscape(item.link)}</link>`);
      if (item.guid !== undefined) parts.push(`<guid isPermaLink="false">${xmlEscape(item.guid)}</guid>`);
      if (item.description !== undefined) parts.push(`<description>${xmlEscape(item.description)}</description>`);
      if (item.content !== undefined) parts.push(`<content:encoded>${xmlEscape(item.content)}</content:encoded>`);
      if (item.pubDate !== undefined) parts.push(`<pubDate>${xmlEscape(item.pubDate)}</pubDate>`);
      for (const category of item.categories ?? []) parts.push(`<category>${xmlEscape(category)}</category>`);
      if (item.creator !== undefined) parts.push(`<dc:creator>${xmlEscape(item.creator)}</dc:creator>`);
      return `<item>${parts.join('')}</item>`;
    })
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
<title>${xmlEscape(channel.title ?? 'Test feed')}</title>
<link>${xmlEscape(channel.link ?? 'https://feed.example/')}</link>
<description>Generated for tests</description>
${channel.extraXml ?? ''}
${body}
</channel>
</rss>`;
}
