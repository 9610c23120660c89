import { readFileSync } from 'node:fs';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { ArticleSchema, type Article } from '../../src/articles/article.js';
import { parseFeed, type ParseFeedOptions } from '../../src/articles/parse-feed.js';
import { isAppError } from '../../src/errors.js';
import { buildRss, fixture, hasFeedFixtures, SAMPLE_FEED } from './feed-fixtures.js';

const NOW = new Date('2026-11-27T12:00:00Z');
const MB = 1024 * 1024;

function parse(input: string | Buffer, options: Partial<ParseFeedOptions> = {}) {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  return parseFeed(bytes, { source: 'https://feed.example/feed.xml', maxBytes: 10 * MB, now: NOW, ...options });
}

function rejectionOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(isAppError(error, 'feed_rejected')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected the feed to be rejected');
}

function only(articles: Article[]): Article {
  expect(articles).toHaveLength(1);
  return articles[0] as Article;
}

describe('the demo feed', () => {
  const feed = parse(readFileSync(SAMPLE_FEED), { source: SAMPLE_FEED });

  it('yields twelve complete articles in four sections', () => {
    expect(feed.title).toBe('The Harbour Gazette');
    expect(feed.articles).toHaveLength(12);
    expect(new Set(feed.articles.map((a) => a.section))).toEqual(new Set(['News', 'Environment', 'Culture', 'Sport']));
    for (const article of feed.articles) {
      expect(ArticleSchema.parse(article)).toEqual(article);
      expect(article.authors).toHaveLength(1);
      expect(article.standfirst.length).toBeGreaterThan(40);
      expect(article.image?.url).toMatch(/^https:\/\/harbourgazette\.example\/images\//);
      expect(article.image?.alt.length).toBeGreaterThan(10);
      expect(article.image?.caption).toMatch(/Photo: /);
      expect(article.contentHtml).toMatch(/^<p>/);
    }
  });

  it('arrives without its planted tracking link parameters and pixel', () => {
    const lantern = feed.articles.find((a) => a.title.startsWith('The Lantern Theatre'));
    expect(lantern?.contentHtml).toContain('href="https://lanterntheatre.example/last-boat-out"');
    expect(lantern?.contentHtml).not.toMatch(/utm_|fbclid|pixel\.wp\.com|<img/);
  });

  it('resolves the relative link in an article against the site', () => {
    const beach = feed.articles.find((a) => a.title.startsWith('Beach clean'));
    expect(beach?.contentHtml).toContain('href="https://harbourgazette.example/environment/bathing-water"');
  });
});

describe('character encodings', () => {
  it.skipIf(!hasFeedFixtures)('reads an ISO-8859-1 feed (Portuguese accents intact)', () => {
    const feed = parse(readFileSync(fixture('realworld', 'encoding.rss')));
    expect(feed.articles[0]?.title).toBe('Mãe de utente é a nova presidente da Raríssimas');
  });

  it.skipIf(!hasFeedFixtures)('reads a windows-1251 feed (Cyrillic intact)', () => {
    const feed = parse(readFileSync(fixture('realworld', 'iconv.xml')));
    expect(feed.encoding).toBe('windows-1251');
    expect(feed.articles[0]?.title).toBe('В Бузулуке главные стройплощадки – детсад и Ледовый дворец');
  });

  const title = 'Ærø ferry: “smørrebrød” for ½ price — Zürich café';
  const xml = buildRss([{ title, link: 'https://feed.example/a' }]).replace('encoding="UTF-8"', 'encoding="UTF-16"');

  it('reads UTF-16 little-endian with a byte order mark', () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode(xml, 'utf-16le')]);
    expect(only(parse(bytes).articles).title).toBe(title);
  });

  it('reads UTF-16 big-endian with a byte order mark', () => {
    const bytes = Buffer.concat([Buffer.from([0xfe, 0xff]), iconv.encode(xml, 'utf-16be')]);
    expect(only(parse(bytes).articles).title).toBe(title);
  });

  it('lets the HTTP charset override the XML declaration', () => {
    const cyrillic = 'Новости порта';
    const declaredLatin1 = buildRss([{ title: cyrillic, link: 'https://feed.example/a' }]).replace(
      'UTF-8',
      'ISO-8859-1',
    );
    const bytes = iconv.encode(declaredLatin1, 'windows-1251');
    expect(only(parse(bytes, { charset: 'windows-1251' }).articles).title).toBe(cyrillic);
  });

  it('reads Latin-1 bytes correctly even when the feed wrongly declares UTF-8', () => {
    const bytes = iconv.encode(buildRss([{ title: 'Café crème à Noël', link: 'https://feed.example/a' }]), 'latin1');
    expect(only(parse(bytes).articles).title).toBe('Café crème à Noël');
  });

  it('reads UTF-8 bytes correctly even when the feed wrongly declares ISO-8859-1', () => {
    const bytes = Buffer.from(
      buildRss([{ title: 'Café crème à Noël', link: 'https://feed.example/a' }]).replace('UTF-8', 'ISO-8859-1'),
    );
    expect(only(parse(bytes).articles).title).toBe('Café crème à Noël');
  });

  it('reads windows-1252 smart quotes in an undeclared feed as the quotes they are', () => {
    const body = buildRss([{ title: 'Don’t “panic”', link: 'https://feed.example/a' }]).replace(
      ' encoding="UTF-8"',
      '',
    );
    expect(only(parse(iconv.encode(body, 'windows-1252')).articles).title).toBe('Don’t “panic”');
  });
});

describe('links and bases', () => {
  it.skipIf(!hasFeedFixtures)('resolves item links and content links against an item-scoped xml:base', () => {
    const feed = parse(readFileSync(fixture('wellformed', 'rss-with-item-scoped-html-base.xml')), {
      source: 'feed.xml',
    });
    expect(feed.articles.map((a) => a.url)).toEqual(['https://example.com/first/first', 'https://example.com/second']);
    expect(feed.articles[0]?.contentHtml).toContain('href="https://example.com/first/post"');
    expect(feed.articles[1]?.contentHtml).toContain('href="https://example.com/post"');
  });

  it('follows nested Atom xml:base and ignores a javascript: base', () => {
    const atom = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://news.example/blog/">
  <title>Nested bases</title>
  <entry xml:base="2026/">
    <id>tag:news.example,2026:1</id>
    <title>Relative everything</title>
    <updated>2026-11-20T10:00:00Z</updated>
    <link rel="alternate" href="post-1.html"/>
    <content type="html" xml:base="javascript:alert(1)">&lt;a href="notes/one"&gt;notes&lt;/a&gt;</content>
  </entry>
</feed>`;
    const article = only(parse(atom, { source: 'feed.atom' }).articles);
    expect(article.url).toBe('https://news.example/blog/2026/post-1.html');
    expect(article.contentHtml).toBe('<a href="https://news.example/blog/2026/notes/one">notes</a>');
  });

  it('resolves relative links against the URL the feed was fetched from', () => {
    const rss = buildRss([{ title: 'Relative', link: '/news/1' }], { link: '' });
    expect(only(parse(rss, { source: 'https://paper.example/feeds/all.xml' }).articles).url).toBe(
      'https://paper.example/news/1',
    );
  });

  it('points FeedBurner items at the publisher, not at the click counter', () => {
    const rss = buildRss([{ title: 'Counted', link: 'http://feeds.feedburner.com/~r/Paper/~3/abc/story' }], {
      extraXml: '',
    }).replace(
      '</item>',
      '<feedburner:origLink xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0">https://paper.example/story?utm_source=feedburner</feedburner:origLink></item>',
    );
    expect(only(parse(rss).articles).url).toBe('https://paper.example/story');
  });

  it('removes tracking parameters and unwraps redirects on article links', () => {
    const rss = buildRss([
      { title: 'Tagged', link: 'https://paper.example/a?id=7&utm_source=rss&utm_medium=feed&fbclid=x' },
      { title: 'Wrapped', link: 'https://www.google.com/url?q=https://paper.example/b%3Fmc_eid%3D1&sa=D' },
    ]);
    expect(parse(rss).articles.map((a) => a.url)).toEqual(['https://paper.example/a?id=7', 'https://paper.example/b']);
  });

  it('drops an item whose only link is not http(s), counting why', () => {
    const feed = parse(
      buildRss([
        { title: 'Script', link: 'javascript:alert(1)' },
        { title: 'Fine', link: 'https://feed.example/ok' },
      ]),
    );
    expect(feed.articles.map((a) => a.title)).toEqual(['Fine']);
    expect(feed.skipped).toEqual([{ reason: 'item has no usable http(s) link', count: 1 }]);
  });
});

describe('formats', () => {
  it('reads a JSON Feed 1.1 item with image, authors, tags and HTML', () => {
    const json = JSON.stringify({
      version: 'https://jsonfeed.org/version/1.1',
      title: 'Harbour JSON',
      home_page_url: 'https://json.example/',
      items: [
        {
          id: 'item-1',
          url: 'https://json.example/items/1?utm_campaign=x',
          title: 'Tide tables &amp; times',
          summary: 'When to launch this week.',
          content_html: '<p>High water <b>06:12</b>.</p><script>track()</script>',
          image: 'https://json.example/tide.jpg',
          date_published: '2026-11-26T08:00:00+01:00',
          date_modified: '2026-11-26T09:30:00+01:00',
          authors: [{ name: 'Kit Rowe' }],
          tags: ['Environment', 'Sea'],
        },
      ],
    });
    const feed = parse(json);
    expect(feed.format).toBe('json');
    const article = only(feed.articles);
    expect(article).toMatchObject({
      url: 'https://json.example/items/1',
      title: 'Tide tables & times',
      standfirst: 'When to launch this week.',
      authors: ['Kit Rowe'],
      section: 'Environment',
      categories: ['Environment', 'Sea'],
      publishedAt: '2026-11-26T07:00:00.000Z',
      updatedAt: '2026-11-26T08:30:00.000Z',
      image: { url: 'https://json.example/tide.jpg', alt: '' },
      contentHtml: '<p>High water <b>06:12</b>.</p>',
    });
  });

  it('reads a JSON Feed 1.0 with a bare version number and a single author', () => {
    const json = JSON.stringify({
      version: '1.0',
      title: 'Old JSON',
      author: { name: 'Someone' },
      items: [{ id: 1, url: 'https://json.example/1', content_text: 'First line.\n\nSecond paragraph & more.' }],
    });
    const article = only(parse(json).articles);
    expect(article.title).toBe('First line. Second paragraph & more.');
    expect(article.contentHtml).toBe('<p>First line.</p>\n<p>Second paragraph &amp; more.</p>');
  });

  it('reads an Atom entry: HTML title, summary, XHTML content, author, category, enclosure image', () => {
    const atom = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Atom paper</title>
  <link rel="alternate" href="https://atom.example/"/>
  <updated>2026-11-26T12:00:00Z</updated>
  <entry>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <title type="html">Harbour &lt;em&gt;reopens&lt;/em&gt;</title>
    <link rel="alternate" type="text/html" href="https://atom.example/reopens"/>
    <link rel="enclosure" type="image/jpeg" href="https://atom.example/quay.jpg"/>
    <published>2026-11-25T10:00:00Z</published>
    <updated>2026-11-25T12:00:00Z</updated>
    <author><name>Ruth Angove</name></author>
    <category term="news" label="News"/>
    <summary type="text">Boats are back &amp; so is the market.</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>The quay is <strong>open</strong>.</p></div></content>
  </entry>
</feed>`;
    const feed = parse(atom);
    expect(feed.format).toBe('atom');
    expect(only(feed.articles)).toMatchObject({
      url: 'https://atom.example/reopens',
      title: 'Harbour reopens',
      standfirst: 'Boats are back & so is the market.',
      authors: ['Ruth Angove'],
      section: 'News',
      publishedAt: '2026-11-25T10:00:00.000Z',
      updatedAt: '2026-11-25T12:00:00.000Z',
      image: { url: 'https://atom.example/quay.jpg' },
      contentHtml: '<p>The quay is <strong>open</strong>.</p>',
    });
  });

  it('reads RSS 1.0 (RDF) items with Dublin Core dates and creators', () => {
    const rdf = `<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example/"><title>RDF paper</title><link>https://rdf.example/</link><description>d</description></channel>
  <item rdf:about="https://rdf.example/1"><title>One</title><link>https://rdf.example/1</link><dc:date>2026-11-20T10:00:00Z</dc:date><dc:creator>Ana Lobb</dc:creator></item>
</rdf:RDF>`;
    expect(only(parse(rdf).articles)).toMatchObject({
      title: 'One',
      authors: ['Ana Lobb'],
      publishedAt: '2026-11-20T10:00:00.000Z',
    });
  });
});

describe('refusals', () => {
  it('refuses an HTML page served instead of a feed', () => {
    const html = '<!DOCTYPE html>\n<html lang="en"><head><title>Moved</title></head><body><p>Gone</p></body></html>';
    expect(rejectionOf(() => parse(html))).toBe('feed_rejected: not a feed (looks like an HTML page)');
  });

  it('refuses a billion-laughs entity bomb without expanding it', () => {
    const levels = Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`).join('\n');
    const bomb = `<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol0 "lol">\n${levels}\n]>\n<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title><link>https://x.example/</link></item></channel></rss>`;
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < 20; i += 1) expect(rejectionOf(() => parse(bomb))).toMatch(/declares entities in a DOCTYPE/);
    // Expanded, &lol9; is 10^9 characters; refused, the whole exercise stays within a few megabytes.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * MB);
  });

  it('refuses an external entity that would read a local file', () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><rss version="2.0"><channel><title>&xxe;</title></channel></rss>`;
    expect(rejectionOf(() => parse(xxe))).toMatch(/declares entities/);
  });

  it('strips a DOCTYPE that only names an external DTD, without fetching it', () => {
    const rss = buildRss([{ title: 'Old school', link: 'https://feed.example/1' }]).replace(
      '<rss ',
      '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://127.0.0.1:9/rss-0.91.dtd">\n<rss ',
    );
    expect(only(parse(rss).articles).title).toBe('Old school');
  });

  it('refuses a 50 MB feed before parsing it', () => {
    const head = Buffer.from('<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>');
    const huge = Buffer.concat([head, Buffer.alloc(50 * MB, 0x20)]);
    expect(rejectionOf(() => parse(huge, { maxBytes: 10 * MB }))).toMatch(/over the 10485760-byte limit/);
  });

  it('refuses a document that is not a feed, naming its root element', () => {
    expect(rejectionOf(() => parse('<?xml version="1.0"?><note><to>Tove</to></note>'))).toMatch(
      /root element is <note>/,
    );
  });

  it('refuses invalid JSON and JSON that is not a feed', () => {
    expect(rejectionOf(() => parse('{"title": "x", items: }'))).toMatch(/^feed_rejected: not valid JSON/);
    expect(rejectionOf(() => parse('{"title": "x"}'))).toBe('feed_rejected: not a JSON Feed (no "items" array)');
  });

  it.each([
    [
      '300,000 unterminated CDATA sections and a bare ampersand',
      `<rss version="2.0"><channel><title>a & b</title>${'<![CDATA['.repeat(300_000)}`,
    ],
    ['200,000 nested tags', `<rss version="2.0"><channel><title>t</title>${'<b>'.repeat(200_000)}</channel></rss>`],
  ])('refuses a hostile structure (%s) instead of hanging', (_name, xml) => {
    expect(rejectionOf(() => parse(xml))).toMatch(/^feed_rejected: malformed XML/);
  });

  it('reads a FeedBurner feed whose text is full of item-like tags without slowing to a crawl', () => {
    const xml = `<rss version="2.0"><channel><title>t</title><item><title>Tags</title><link>http://feeds.feedburner.com/~r/P/~3/x/</link><feedburner:origLink>https://paper.example/tags</feedburner:origLink><description><![CDATA[${'<item '.repeat(300_000)}]]></description></item></channel></rss>`;
    expect(only(parse(xml).articles).url).toBe('https://paper.example/tags');
  });

  it('refuses an empty document', () => {
    expect(rejectionOf(() => parse('  \n '))).toBe('feed_rejected: empty document');
  });

  it('recovers a feed with bare ampersands and a truncated last tag', () => {
    const broken = buildRss([{ title: 'Fish and chips', link: 'https://feed.example/1' }])
      .replace('Fish and chips', 'Fish & Chips')
      .replace(/<\/rss>\s*$/, '</rss');
    expect(only(parse(broken).articles).title).toBe('Fish & Chips');
  });
});

describe('dates', () => {
  const item = (pubDate: string | undefined, title = 'Dated') => ({
    title,
    link: `https://feed.example/${encodeURIComponent(title)}`,
    pubDate,
  });

  it('clamps a date more than two days ahead to now', () => {
    expect(only(parse(buildRss([item('Tue, 01 Jan 2036 10:00:00 GMT')])).articles).publishedAt).toBe(NOW.toISOString());
  });

  it('keeps a date a day ahead (time zones and scheduled posts)', () => {
    expect(only(parse(buildRss([item('Sat, 28 Nov 2026 10:00:00 GMT')])).articles).publishedAt).toBe(
      '2026-11-28T10:00:00.000Z',
    );
  });

  it('treats a date before 1990 as missing and falls back to the feed date', () => {
    const rss = buildRss([item('Thu, 01 Jan 1970 00:00:00 GMT')], {
      extraXml: '<lastBuildDate>Wed, 25 Nov 2026 09:00:00 GMT</lastBuildDate>',
    });
    expect(only(parse(rss).articles).publishedAt).toBe('2026-11-25T09:00:00.000Z');
  });

  it('falls back to the updated date when there is no publication date', () => {
    const atom = `<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><id>https://a.example/1</id><title>Only updated</title><link href="https://a.example/1"/><updated>2026-11-24T08:00:00Z</updated></entry></feed>`;
    expect(only(parse(atom).articles)).toMatchObject({ publishedAt: '2026-11-24T08:00:00.000Z' });
  });

  it('reads common non-standard dates: zone names, no zone, localised weekdays', () => {
    const feed = parse(
      buildRss([
        item('Wed, 25 Nov 2026 10:00:00 CET', 'cet'),
        item('2026-11-25 10:00:00', 'nozone'),
        item('Mer, 25 Nov 2026 10:00:00 +0000', 'weekday'),
        item('garbage date', 'garbage'),
      ]),
    );
    expect(feed.articles.map((a) => a.publishedAt)).toEqual([
      '2026-11-25T09:00:00.000Z',
      '2026-11-25T10:00:00.000Z',
      '2026-11-25T10:00:00.000Z',
      NOW.toISOString(),
    ]);
  });

  it("reads zone-less dates as UTC whatever the server's time zone", () => {
    const previous = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      expect(new Date(2026, 0, 1).getTimezoneOffset()).toBe(300);
      const feed = parse(
        buildRss([
          item('Wed, 25 Nov 2026 10:00:00', 'rfc'),
          item('2026-11-25T10:00:00', 'iso'),
          item('25 Nov 2026', 'day'),
        ]),
      );
      expect(feed.articles.map((a) => a.publishedAt)).toEqual([
        '2026-11-25T10:00:00.000Z',
        '2026-11-25T10:00:00.000Z',
        '2026-11-25T00:00:00.000Z',
      ]);
    } finally {
      if (previous === undefined) delete process.env.TZ;
      else process.env.TZ = previous;
    }
  });

  it('gives an undated item the same content hash on every re-read, whatever the clock says', () => {
    const rss = buildRss([item(undefined, 'Undated')]);
    const first = only(parse(rss, { now: new Date('2026-11-27T12:00:00Z') }).articles);
    const later = only(parse(rss, { now: new Date('2026-11-27T18:00:00Z') }).articles);
    expect(later.publishedAt).not.toBe(first.publishedAt);
    expect(later.contentHash).toBe(first.contentHash);
    expect(later.id).toBe(first.id);
  });
});

describe('items', () => {
  it('keeps the first of two items with the same guid', () => {
    const feed = parse(
      buildRss([
        { title: 'First version', link: 'https://feed.example/a', guid: 'same' },
        { title: 'Second version', link: 'https://feed.example/b', guid: 'same' },
      ]),
    );
    expect(feed.articles.map((a) => a.title)).toEqual(['First version']);
    expect(feed.skipped).toEqual([{ reason: 'duplicate id in the same feed', count: 1 }]);
  });

  it('gives the same article the same id whether the link carries tracking or not', () => {
    const a = only(parse(buildRss([{ title: 'A', link: 'https://feed.example/x?utm_source=a' }])).articles);
    const b = only(parse(buildRss([{ title: 'A', link: 'https://feed.example/x' }])).articles);
    expect(a.id).toBe(b.id);
    expect(a.id).toMatch(/^[a-f0-9]{32}$/);
  });

  it('drops an item with neither title nor link, and titles an untitled one from its summary', () => {
    const feed = parse(
      buildRss([
        { description: 'Nothing to link to.' },
        {
          link: 'https://feed.example/untitled',
          description:
            '<p>The lifeboat was launched twice on Sunday to help yachts caught out by the squall off Gull Point.</p>',
        },
      ]),
    );
    expect(feed.skipped).toEqual([{ reason: 'item has no usable http(s) link', count: 1 }]);
    expect(only(feed.articles).title).toBe('The lifeboat was launched twice on Sunday to help yachts caught out…');
  });

  it('writes a plain-text standfirst of at most 600 characters, cut at a word boundary', () => {
    const long = `<p>${'Harbour <b>news</b> &amp; notes, '.repeat(60)}</p>`;
    const article = only(
      parse(buildRss([{ title: 'Long', link: 'https://feed.example/l', description: long }])).articles,
    );
    expect(article.standfirst.length).toBeLessThanOrEqual(600);
    expect(article.standfirst).toMatch(/^Harbour news & notes, Harbour/);
    expect(article.standfirst).toMatch(/notes…$|news…$|Harbour…$|&…$/);
    expect(article.standfirst).not.toMatch(/[<>]/);
  });

  it('takes the section from the first category, else News', () => {
    const feed = parse(
      buildRss([
        { title: 'Filed', link: 'https://feed.example/1', categories: ['Sport', 'Rowing'] },
        { title: 'Unfiled', link: 'https://feed.example/2' },
      ]),
    );
    expect(feed.articles.map((a) => [a.section, a.categories])).toEqual([
      ['Sport', ['Sport', 'Rowing']],
      ['News', []],
    ]);
  });

  it('takes the newest 1,000 of a 10,000-item feed', () => {
    const start = Date.UTC(2026, 0, 1);
    const items = Array.from({ length: 10_000 }, (_, i) => ({
      title: `Item ${i}`,
      link: `https://feed.example/items/${i}`,
      pubDate: new Date(start + i * 60_000).toUTCString(),
      description: `Summary ${i}`,
    }));
    // Oldest first in the document, so "newest" is not simply "first".
    const feed = parse(buildRss(items), { maxBytes: 20 * MB });
    expect(feed.entryCount).toBe(10_000);
    expect(feed.articles).toHaveLength(1_000);
    expect(feed.skipped).toEqual([{ reason: 'beyond the newest 1000 items', count: 9_000 }]);
    const numbers = feed.articles.map((a) => Number(a.title.split(' ')[1]));
    expect(Math.min(...numbers)).toBe(9_000);
    expect(Math.max(...numbers)).toBe(9_999);
  });
});

describe.skipIf(!hasFeedFixtures)('tracking in real feeds', () => {
  it('removes FeedBurner flare ads and keeps the article images (TechCrunch)', () => {
    const feed = parse(readFileSync(fixture('realworld', 'TechCrunch.xml')));
    const html = feed.articles.map((a) => a.contentHtml).join('\n');
    expect(html).toContain('tctechcrunch2011.files.wordpress.com');
    expect(html).not.toContain('feeds.feedburner.com');
    expect(html).not.toContain('feeds.wordpress.com/1.0/');
  });

  it('removes FeedBurner open pixels (feedburner.atom, encoding.rss) and Medium stat pixels', () => {
    for (const [folder, name, beacon] of [
      ['realworld', 'feedburner.atom', 'feeds.feedburner.com/~r/'],
      ['realworld', 'encoding.rss', '/~r/'],
      ['realworld', 'medium-feed.xml', 'medium.com/_/stat'],
    ] as const) {
      const raw = readFileSync(fixture(folder, name), 'latin1');
      expect(raw).toContain(beacon);
      const feed = parse(readFileSync(fixture(folder, name)));
      expect(feed.articles.length).toBeGreaterThan(0);
      for (const article of feed.articles) {
        expect(article.contentHtml).not.toContain(beacon);
        expect(article.url).not.toContain('/~r/');
      }
    }
  });
});
