import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseFeed } from '../../src/articles/parse-feed.js';
import { sanitizeContent } from '../../src/articles/sanitize-content.js';
import { fixture, hasFeedFixtures } from './feed-fixtures.js';

const BASE = 'https://paper.example/news/2026/story.html';
const clean = (html: string) => sanitizeContent(html, BASE);

describe('active content never reaches a reader', () => {
  it.each([
    ['<p>Hi</p><script>alert(1)</script>', '<p>Hi</p>'],
    ['<p>Hi<script src="https://evil.example/x.js"></script></p>', '<p>Hi</p>'],
    ['<iframe src="https://evil.example/"></iframe><p>Text</p>', '<p>Text</p>'],
    ['<object data="x.swf"><embed src="x.swf"></object><p>Text</p>', '<p>Text</p>'],
    ['<form action="https://evil.example/"><input name="pw"><button>Go</button></form><p>Text</p>', '<p>Text</p>'],
    ['<meta http-equiv="refresh" content="0;url=https://evil.example/"><p>Text</p>', '<p>Text</p>'],
    ['<p onclick="steal()" onmouseover="steal()">Click</p>', '<p>Click</p>'],
    [
      '<img src="photo.jpg" onerror="steal()" alt="A quay">',
      '<img src="https://paper.example/news/2026/photo.jpg" alt="A quay" />',
    ],
    ['<a href="javascript:alert(1)">x</a>', '<a>x</a>'],
    ['<a href="  JaVaScRiPt:alert(1)">x</a>', '<a>x</a>'],
    ['<a href="java&#x09;script:alert(1)">x</a>', '<a>x</a>'],
    ['<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>', '<a>x</a>'],
    ['<a href="vbscript:msgbox(1)">x</a>', '<a>x</a>'],
    ['<p style="background:url(https://tracker.example/p.gif)">Styled</p>', '<p>Styled</p>'],
    ['<style>p { background: url(https://tracker.example/p.gif) }</style><p>Text</p>', '<p>Text</p>'],
    ['<svg onload="steal()"><circle r="1"/></svg><p>Text</p>', '<p>Text</p>'],
    ['<h1>Big</h1><h6>Small</h6>', '<h2>Big</h2><h4>Small</h4>'],
    ['<div class="x"><span>Kept text</span></div>', 'Kept text'],
  ])('%s', (input, expected) => {
    expect(clean(input)).toBe(expected);
  });

  it('keeps the allowed structure: links, emphasis, lists, quotes, figures, tables, code', () => {
    const html =
      '<p><a href="https://x.example/" title="X">x</a> <em>e</em> <strong>s</strong> <b>b</b> <i>i</i></p>' +
      '<ul><li>one</li></ul><ol start="3"><li>three</li></ol><blockquote><p>q</p></blockquote>' +
      '<figure><img src="https://x.example/a.jpg" alt="a" width="600" height="400" /><figcaption>c</figcaption></figure>' +
      '<table><thead><tr><th>h</th></tr></thead><tbody><tr><td colspan="2">d</td></tr></tbody></table>' +
      '<pre><code>x &lt; y</code></pre><hr /><br />';
    expect(clean(html)).toBe(html);
  });

  it('makes relative links and images absolute, and mailto links stay', () => {
    expect(
      clean('<a href="../other.html">o</a><a href="//cdn.example/x">c</a><a href="mailto:desk@paper.example">m</a>'),
    ).toBe(
      '<a href="https://paper.example/news/other.html">o</a><a href="https://cdn.example/x">c</a><a href="mailto:desk@paper.example">m</a>',
    );
  });

  it('drops relative links when there is no base to resolve them against', () => {
    expect(sanitizeContent('<a href="/x">x</a><img src="/y.jpg" alt="y">', undefined)).toBe('<a>x</a>');
  });
});

describe('tracking is removed from article HTML', () => {
  it.each([
    ['a 1×1 pixel by its attributes', '<p>Text<img src="https://paper.example/p.gif" width="1" height="1"></p>'],
    ['a 0-width pixel', '<p>Text<img src="https://paper.example/p.gif" width="0" height="0" alt=""></p>'],
    ['a pixel shrunk by CSS', '<p>Text<img src="https://paper.example/p.gif" style="width:1px;height:1px"></p>'],
    ['a pixel hidden by CSS', '<p>Text<img src="https://paper.example/p.gif" style="display: none"></p>'],
    [
      'a FeedBurner open pixel',
      '<p>Text<img src="http://feeds.feedburner.com/~r/Paper/~4/abc" height="1" width="1"></p>',
    ],
    ['a WordPress stats beacon', '<p>Text<img src="https://stats.wordpress.com/b.gif?host=x&blog=1&post=2"></p>'],
    ['a Jetpack pixel', '<p>Text<img src="https://pixel.wp.com/g.gif?v=ext&blog=1"></p>'],
    ['a Medium stat pixel', '<p>Text<img src="https://medium.com/_/stat?event=post.clientViewed&postId=1"></p>'],
    ['a Facebook pixel', '<p>Text<img src="https://www.facebook.com/tr?id=1&ev=PageView"></p>'],
    ['a Google Analytics beacon', '<p>Text<img src="https://www.google-analytics.com/collect?v=1&tid=UA-1"></p>'],
    ['a DoubleClick ad', '<p>Text<img src="https://ad.doubleclick.net/ddm/ad/x"></p>'],
    ['a Feedsportal pixel', '<p>Text<img src="http://pi.feedsportal.com/r/1/2/a.gif"></p>'],
    ['a Mailchimp open tracker', '<p>Text<img src="https://mc.us5.list-manage.com/track/open.php?u=1&id=2"></p>'],
    [
      'a lazy-load placeholder pixel whose real image is a beacon',
      '<p>Text<img src="data:image/gif;base64,R0lGOD" data-src="https://pixel.wp.com/g.gif"></p>',
    ],
  ])('removes %s', (_name, html) => {
    expect(clean(html)).toBe('<p>Text</p>');
  });

  it('removes FeedBurner flare links together with their images', () => {
    const flare =
      '<p>Story</p><div class="feedflare"><a href="http://feeds.feedburner.com/~ff/Paper?a=x"><img src="http://feeds.feedburner.com/~ff/Paper?d=y" border="0"></a></div>';
    expect(clean(flare)).toBe('<p>Story</p>');
  });

  it('keeps a real image and promotes a lazy-loaded one', () => {
    expect(clean('<img src="data:image/gif;base64,R0lGOD" data-src="/img/quay.jpg" alt="Quay" width="800">')).toBe(
      '<img src="https://paper.example/img/quay.jpg" alt="Quay" width="800" />',
    );
  });

  it('cleans tracking parameters from every link and image', () => {
    expect(
      clean(
        '<a href="https://x.example/p?utm_source=rss&id=2&fbclid=z">p</a><img src="https://x.example/i.jpg?utm_medium=feed" alt="i">',
      ),
    ).toBe('<a href="https://x.example/p?id=2">p</a><img src="https://x.example/i.jpg" alt="i" />');
  });

  it('unwraps redirect links inside the content', () => {
    expect(clean('<a href="https://www.google.com/url?q=https://x.example/story&amp;sa=D">s</a>')).toBe(
      '<a href="https://x.example/story">s</a>',
    );
  });

  it('removes a link left empty once its pixel is gone', () => {
    expect(
      clean('<p>A<a href="https://x.example/"><img src="https://x.example/p.gif" width="1" height="1"></a></p>'),
    ).toBe('<p>A</p>');
  });
});

describe.skipIf(!hasFeedFixtures)('the corpus cases with hostile HTML', () => {
  it.each([
    'item_content_encoded_crazy.xml',
    'item_content_encoded_iframe.xml',
    'item_content_encoded_meta.xml',
    'item_content_encoded_onclick.xml',
    'item_content_encoded_onerror.xml',
    'item_content_encoded_script.xml',
    'item_content_encoded_script_nested_cdata.xml',
    'item_content_encoded_style.xml',
    'item_description_object.xml',
  ])('%s comes out inert', (name) => {
    const raw = readFileSync(fixture('wellformed', name), 'utf8');
    // These test files have no item links; give each item one so it becomes an article.
    const withLink = raw.replace(/<item>/i, '<item><link>https://feed.example/item</link><title>t</title>');
    const feed = parseFeed(Buffer.from(withLink), { source: 'https://feed.example/f.xml', maxBytes: 1_000_000 });
    expect(feed.articles.length).toBeGreaterThan(0);
    for (const article of feed.articles) {
      expect(article.contentHtml).not.toMatch(
        /<script|<iframe|<object|<embed|<meta|<style|\son\w+\s*=|\sstyle\s*=|javascript:/i,
      );
    }
  });
});

/** Markup assembled from hostile fragments, in any order and nesting, as a fuzzer would. */
const hostileHtml = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '<script>alert(1)</script>',
        '<script',
        '</script>',
        '<scr<script>ipt>alert(1)</script>',
        '<img src=x onerror=alert(1)>',
        '<img src="javascript:alert(1)">',
        '<a href="javascript:alert(1)">',
        '<a href=" javascript:alert(1)">',
        '<a href="jav&#x0A;ascript:alert(1)">',
        '<a href="&#106;avascript:alert(1)">',
        '<p style="background:url(javascript:alert(1))">',
        '<div onmouseover="x()">',
        '<svg><script>alert(1)</script></svg>',
        '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
        '<iframe srcdoc="<script>alert(1)</script>">',
        '<!--<script>-->',
        '<![CDATA[<script>]]>',
        '<body onload=alert(1)>',
        '<p>',
        '</p>',
        '</a>',
        '<b>',
        '"',
        "'",
        '>',
        '<',
      ),
      fc.string({ maxLength: 12 }),
    ),
    { maxLength: 25 },
  )
  .map((parts) => parts.join(''));

describe('properties of the sanitizer', () => {
  it('never emits a script element, an event handler, a style attribute or a javascript: URL in any tag', () => {
    fc.assert(
      fc.property(hostileHtml, (html) => {
        const output = clean(html);
        expect(output).not.toMatch(/<script/i);
        // Text may mention such words (escaped); tags may not carry them.
        for (const tag of output.match(/<[a-z][^>]*>/gi) ?? []) {
          expect(tag).not.toMatch(/\son\w+\s*=/i);
          expect(tag).not.toMatch(/\sstyle\s*=/i);
          expect(tag).not.toMatch(/javascript:|data:|vbscript:/i);
          expect(tag).toMatch(
            /^<\/?(?:p|a|em|strong|b|i|ul|ol|li|blockquote|h2|h3|h4|img|figure|figcaption|br|hr|pre|code|table|thead|tbody|tfoot|tr|th|td|caption)[\s/>]/,
          );
        }
      }),
      { numRuns: 500 },
    );
  });

  it('is stable: sanitizing its own output changes nothing', () => {
    fc.assert(
      fc.property(hostileHtml, (html) => {
        const once = clean(html);
        expect(clean(once)).toBe(once);
      }),
      { numRuns: 300 },
    );
  });
});
