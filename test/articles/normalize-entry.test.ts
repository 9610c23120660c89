/**
 * The normaliser against generated feeds: whatever an RSS item holds (odd text, markup, entities, relative or
 * hostile links, any date string, missing fields), the feed yields schema-valid articles or a clear rejection,
 * and every item is accounted for.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArticleSchema } from '../../src/articles/article.js';
import { parseFeed } from '../../src/articles/parse-feed.js';
import { isAppError } from '../../src/errors.js';
import { buildRss, type RssItemSeed } from './feed-fixtures.js';

const NOW = new Date('2026-11-27T12:00:00Z');

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(
    'Fish &amp; Chips',
    '<b>Bold</b> claim',
    'x < y',
    '&eacute;t&eacute;',
    ' ',
    '',
    '&#x1F600; smile',
    '<script>x</script>',
  ),
  fc.lorem({ maxCount: 120 }),
);
const link = fc.oneof(
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.constantFrom(
    '/relative/path',
    'relative',
    'javascript:alert(1)',
    'mailto:a@b.example',
    '',
    '   ',
    '://broken',
    'https://x.example/a?utm_source=z',
  ),
);
const date = fc.oneof(
  fc
    .date({ min: new Date('1960-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
    .map((d) => d.toUTCString()),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('', 'yesterday', 'Mon, 32 Foo 2026 99:99:99 XYZ', '0000-00-00T00:00:00Z', '2026-11-25'),
);
const item: fc.Arbitrary<RssItemSeed> = fc.record(
  {
    title: text,
    link,
    guid: fc.oneof(fc.string({ maxLength: 30 }), fc.webUrl()),
    description: text,
    content: fc.oneof(
      text,
      fc.constantFrom('<p>Para <img src="/i.jpg" alt="i"> <a href="x?fbclid=1">l</a></p>', '<iframe src=x></iframe>'),
    ),
    pubDate: date,
    categories: fc.array(text, { maxLength: 4 }),
    creator: text,
  },
  { requiredKeys: [] },
);

describe('any generated RSS feed', () => {
  it('yields schema-valid, tracking-free articles or a clear rejection, accounting for every item', () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 8 }), (items) => {
        let feed: ReturnType<typeof parseFeed>;
        try {
          feed = parseFeed(Buffer.from(buildRss(items)), {
            source: 'https://feed.example/rss',
            maxBytes: 1_000_000,
            now: NOW,
          });
        } catch (error) {
          expect(isAppError(error, 'feed_rejected')).toBe(true);
          expect((error as Error).message).toMatch(/^feed_rejected: .{8,}/);
          return;
        }
        // An <item/> with no element at all carries nothing; the parser does not count it as an entry.
        const entries = items.filter((seed) =>
          Object.entries(seed).some(([key, value]) =>
            key === 'categories' ? (value as string[]).length > 0 : value !== undefined,
          ),
        ).length;
        expect(feed.entryCount).toBe(entries);
        const skipped = feed.skipped.reduce((sum, s) => sum + s.count, 0);
        expect(feed.articles.length + skipped).toBe(entries);
        for (const reason of feed.skipped) expect(reason.reason.length).toBeGreaterThan(8);
        for (const article of feed.articles) {
          expect(ArticleSchema.safeParse(article).success).toBe(true);
          expect(article.url).toMatch(/^https?:\/\//);
          expect(article.url).not.toMatch(/[?&#](?:utm_|fbclid=)/);
          expect(article.title.trim()).toBe(article.title);
          expect(article.title).not.toBe('');
          expect(article.standfirst.length).toBeLessThanOrEqual(600);
          expect(Date.parse(article.publishedAt)).toBeGreaterThanOrEqual(Date.UTC(1990, 0, 1));
          expect(Date.parse(article.publishedAt)).toBeLessThanOrEqual(NOW.getTime() + 2 * 24 * 3600 * 1000);
          expect(article.contentHtml).not.toMatch(/<script|<iframe|\son\w+=|javascript:/i);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('gives the same articles, ids and hashes when the same feed is read twice', () => {
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 5 }), (items) => {
        const read = (now: Date) => {
          try {
            return parseFeed(Buffer.from(buildRss(items)), {
              source: 'https://feed.example/rss',
              maxBytes: 1_000_000,
              now,
            }).articles;
          } catch {
            return undefined;
          }
        };
        const first = read(NOW);
        const later = read(new Date(NOW.getTime() + 3_600_000));
        expect(later?.map((a) => [a.id, a.contentHash])).toEqual(first?.map((a) => [a.id, a.contentHash]));
      }),
      { numRuns: 100 },
    );
  });
});
