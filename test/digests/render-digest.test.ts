import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Article } from '../../src/articles/article.js';
import { composePreheader, composeSubject } from '../../src/digests/build-digest-view.js';
import { checkTemplateMarkup } from '../../src/digests/check-template-markup.js';
import type { DigestBody } from '../../src/digests/digest.js';
import { escapeHtml, fillSlots } from '../../src/digests/fill-slots.js';
import { DEFAULT_TEMPLATES_DIR } from '../../src/digests/load-digest-templates.js';
import { renderDigest, TEXT_WIDTH } from '../../src/digests/render-digest.js';
import { flattenSections, selectArticles } from '../../src/digests/select-articles.js';
import { wrapText } from '../../src/digests/wrap-text.js';
import { isAppError } from '../../src/errors.js';
import { anchor, makeArticle, sampleArticles, sampleNewsletter, sampleSite } from './sample-articles.js';

const LINKS = {
  unsubscribeUrl: 'https://news.harbourgazette.example/unsubscribe/5.daily.Abc-_def',
  preferencesUrl: 'https://news.harbourgazette.example/preferences/5.daily.Abc-_def',
};
const htmlLinks = {
  unsubscribeUrl: escapeHtml(LINKS.unsubscribeUrl),
  preferencesUrl: escapeHtml(LINKS.preferencesUrl),
};

let articles: Article[];
let body: DigestBody;
let html: string;
let text: string;
const scratch: string[] = [];

async function expectTemplateInvalid(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(isAppError(caught, 'template_invalid'), String(caught)).toBe(true);
  expect((caught as Error).message).toMatch(pattern);
}

/** A copy of the real templates with one file replaced, in a temp folder. */
function templatesWith(file: string, transform: (source: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), 'lp-templates-'));
  scratch.push(dir);
  cpSync(DEFAULT_TEMPLATES_DIR, dir, { recursive: true });
  writeFileSync(join(dir, file), transform(readFileSync(join(dir, file), 'utf8')));
  return dir;
}

beforeAll(async () => {
  articles = flattenSections(selectArticles(sampleArticles(), sampleNewsletter(), undefined));
  body = await renderDigest({
    newsletter: sampleNewsletter(),
    site: sampleSite(),
    articles,
    issueDate: new Date('2025-11-27T06:00:00Z'),
  });
  html = fillSlots(body.html, htmlLinks);
  text = fillSlots(body.text, LINKS);
});

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe('the digest templates', () => {
  it('are well-formed markup (MJML alone would silently accept an unclosed tag)', () => {
    const withoutMustaches = (source: string) => source.replace(/\{\{[^}]*\}\}/g, '');
    const main = readFileSync(join(DEFAULT_TEMPLATES_DIR, 'digest.mjml'), 'utf8');
    expect(checkTemplateMarkup(withoutMustaches(main), 'mjml')).toEqual([]);
    const partials = readdirSync(join(DEFAULT_TEMPLATES_DIR, 'partials'));
    expect(partials.length).toBeGreaterThan(0);
    for (const file of partials) {
      const source = readFileSync(join(DEFAULT_TEMPLATES_DIR, 'partials', file), 'utf8');
      expect(checkTemplateMarkup(withoutMustaches(source)), file).toEqual([]);
    }
  });

  it('the markup check notices unclosed, mismatched and stray tags', () => {
    expect(checkTemplateMarkup('<mjml><mj-body><mj-text>Hi <b>there</mj-text></mj-body></mjml>', 'mjml')).not.toEqual(
      [],
    );
    expect(checkTemplateMarkup('<mjml><mj-body></mjml>', 'mjml')[0]?.message).toMatch(/closes <mj-body>/);
    expect(checkTemplateMarkup('<mjml></mjml></mj-text>', 'mjml')[0]?.message).toMatch(/closes nothing/);
    expect(checkTemplateMarkup('<mjml>a < b</mjml>', 'mjml')[0]?.message).toMatch(/starts no tag/);
    expect(checkTemplateMarkup('<mjml><br><img src="x"><mj-image src="y" /><!-- <open> --></mjml>', 'mjml')).toEqual(
      [],
    );
  });

  it('a partial with an unclosed tag is refused instead of mailing a broken layout', async () => {
    const dir = templatesWith('partials/article-card.mjml', (s) => s.replace('</h3>', ''));
    await expectTemplateInvalid(
      renderDigest(
        { newsletter: sampleNewsletter(), site: sampleSite(), articles, issueDate: new Date() },
        { templatesDir: dir },
      ),
      /not well-formed/,
    );
  });

  it('MJML that fails strict validation is refused, naming the template and the attribute', async () => {
    const dir = templatesWith('digest.mjml', (s) =>
      s.replace('<mj-text css-class="f"', '<mj-text css-class="f" colour="red"'),
    );
    let caught: unknown;
    try {
      await renderDigest(
        { newsletter: sampleNewsletter(), site: sampleSite(), articles, issueDate: new Date() },
        { templatesDir: dir },
      );
    } catch (error) {
      caught = error;
    }
    expect(isAppError(caught, 'template_invalid'), String(caught)).toBe(true);
    const message = (caught as Error).message;
    expect(message).toContain(join(dir, 'digest.mjml'));
    expect(message).toMatch(/strict validation/);
    expect(message).toMatch(/colour/);
  });

  it('an invalid attribute in a partial is refused as well', async () => {
    const dir = templatesWith('partials/article-card.mjml', (s) =>
      s.replace('<mj-spacer height="12px" />', '<mj-spacer height="twelve" />'),
    );
    await expectTemplateInvalid(
      renderDigest(
        { newsletter: sampleNewsletter(), site: sampleSite(), articles, issueDate: new Date() },
        { templatesDir: dir },
      ),
      /digest\.mjml: MJML failed strict validation: .*mj-spacer.*height/,
    );
  });

  it('a misspelt field in a template is an error, not an empty string', async () => {
    const dir = templatesWith('digest.txt', (s) => s.replace('{{postalAddress}}', '{{postalAdress}}'));
    await expectTemplateInvalid(
      renderDigest(
        { newsletter: sampleNewsletter(), site: sampleSite(), articles, issueDate: new Date() },
        { templatesDir: dir },
      ),
      /postalAdress/,
    );
  });

  it('a template that drops the unsubscribe link cannot produce a digest', async () => {
    const dir = templatesWith('digest.txt', (s) => s.replace('{{unsubscribeUrl}}', ''));
    await expectTemplateInvalid(
      renderDigest(
        { newsletter: sampleNewsletter(), site: sampleSite(), articles, issueDate: new Date() },
        { templatesDir: dir },
      ),
      /no unsubscribeUrl link/,
    );
  });
});

describe('a rendered digest', () => {
  it('has a masthead with the newsletter and the issue date, then every article in its section', () => {
    expect(html).toContain('<title>The Daily Digest · Thursday 27 November 2025</title>');
    expect(html).toMatch(/<h1[^>]*>The Daily Digest<\/h1>/);
    expect(html).toContain('<time datetime="2025-11-27">Thursday 27 November 2025</time>');
    for (const section of ['News', 'Business', 'Culture', 'Opinion'])
      expect(html).toMatch(new RegExp(`<h2[^>]*>${section}</h2>`));
    for (const article of articles) {
      expect(html).toMatch(
        anchor(escapeHtml(article.url).replace(/=/g, '&#x3D;'), escapeHtml(article.title).replace(/=/g, '&#x3D;')),
      );
    }
    expect(html.indexOf('>News</h2>')).toBeLessThan(html.indexOf('>Business</h2>'));
  });

  it('article cards carry the image with its alt text and caption, the byline, the standfirst and a Read more link', () => {
    expect(html).toContain(
      'alt="A breached stone harbour wall at low tide" src="https://news.harbourgazette.example/images/harbour-wall.jpg"',
    );
    expect(html).toContain('The eastern wall after the January storms. Photo: Tom Reyes');
    expect(html).toContain('By Zoë Ångström and Ben Okafor');
    expect(html).toContain('By Mara Quill, Ivo Stein and Lena Park');
    expect(html).toContain('The council voted on Tuesday to rebuild the eastern harbour wall');
    expect(html).toMatch(/aria-label="Read more: Harbour wall to be rebuilt after winter storms"[^>]*>Read more/);
    expect(html.match(/<img\s/g)).toHaveLength(2);
    // every image has an alt attribute, empty for a decorative one
    for (const img of html.match(/<img[\s\S]*?>/g) ?? []) expect(img).toMatch(/\salt="/);
  });

  it('the footer shows the postal address, why the reader gets it, and visible unsubscribe and preferences links', () => {
    expect(html).toContain('The Harbour Gazette, 12 Quay Street, Port Ellery, PE1 2AB');
    expect(html).toContain('You are receiving The Daily Digest because you subscribed to it at The Harbour Gazette.');
    expect(html).toMatch(anchor(LINKS.unsubscribeUrl, 'Unsubscribe'));
    expect(html).toMatch(anchor(LINKS.preferencesUrl, 'Manage your preferences'));
    expect(text).toContain(`Unsubscribe (one click):\n${LINKS.unsubscribeUrl}\n`);
    expect(text).toContain(`Manage your preferences:\n${LINKS.preferencesUrl}\n`);
    expect(text).toContain('The Harbour Gazette, 12 Quay Street, Port Ellery, PE1 2AB');
  });

  it('loads nothing remote but the articles’ own images: no fonts, no scripts, no pixels', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link/i);
    expect(html).not.toMatch(/@import/i);
    expect(html).not.toMatch(/fonts\.googleapis|googletagmanager|utm_/i);
    expect(html).not.toMatch(/url\(/i);
    const sources = [...html.matchAll(/\ssrc="([^"]*)"/g)].map((m) => m[1]);
    const articleImages = articles.flatMap((a) => (a.image ? [a.image.url] : []));
    expect(sources.sort()).toEqual(articleImages.sort());
    // every link goes to an article, the site, or the reader's own links
    const allowed = new Set([
      ...articles.map((a) => escapeHtml(a.url).replace(/=/g, '&#x3D;')),
      'https://news.harbourgazette.example',
      LINKS.unsubscribeUrl,
      LINKS.preferencesUrl,
    ]);
    for (const [, href] of html.matchAll(/\shref="([^"]*)"/g)) expect(allowed.has(href!), href).toBe(true);
  });

  it('is accessible: language, document title and a heading outline', () => {
    expect(html).toMatch(/<html lang="en-GB"/); // the site's locale
    expect(html.match(/<h1[\s>]/g)).toHaveLength(1);
    expect(html.match(/<h3[\s>]/g)).toHaveLength(articles.length);
  });

  it('article text is escaped in HTML and verbatim in plain text', () => {
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('Fish market prices hold steady &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('Café owners &amp; bakers say &quot;no&quot; to late licences');
    expect(text).toContain('Fish market prices hold steady <script>alert(1)</script>');
    expect(text).toContain('Café owners & bakers say "no" to late licences');
  });

  it('the plain-text part is written from the same data: headlines, bylines, bare links, wrapped at 72 columns', () => {
    for (const article of articles) {
      expect(text).toContain(article.title);
      expect(text).toContain(article.url);
    }
    expect(text).toContain('By Mara Quill · 27 Nov 2025');
    expect(text).toContain('[Picture: The eastern wall after the January storms. Photo: Tom Reyes]');
    expect(text).not.toMatch(/<a |href=|&amp;/);
    for (const line of text.split('\n')) {
      expect(line).toBe(line.trimEnd());
      if (line.length > TEXT_WIDTH) expect(line, 'only a lone URL may be longer').toMatch(/^\S+$/);
    }
  });

  it('leaves exactly the two personal links open, once in the footer of each part', () => {
    for (const part of [body.html, body.text]) {
      expect(part.length % 2).toBe(1);
      expect(part.filter((_, i) => i % 2 === 1).sort()).toEqual(['preferencesUrl', 'unsubscribeUrl']);
      expect(part.join('')).not.toMatch(/lpslot/);
    }
    expect(html).not.toMatch(/lpslot/);
  });

  it('has a subject naming the top story and how many follow, and a preheader of the next headlines', () => {
    expect(body.subject).toBe('The Daily Digest: Harbour wall to be rebuilt after winter storms, and 7 more');
    expect(body.preheader.startsWith('Also in this issue: Ferry timetable changes: what you need to know · ')).toBe(
      true,
    );
    expect(body.preheader.length).toBeLessThanOrEqual(140);
    expect(html).toContain('Also in this issue: Ferry timetable changes');
  });

  it('an embedded image, whose size is known, is laid out with its width and height; a remote one with its width', async () => {
    const cid = `${'a'.repeat(32)}@news.harbourgazette.example`;
    const pictured = makeArticle({
      title: 'A story with an embedded picture',
      publishedAt: '2025-11-27T05:00:00Z',
      image: { url: `cid:${cid}`, alt: 'The quay at dawn' },
    });
    const rendered = await renderDigest({
      newsletter: sampleNewsletter(),
      site: sampleSite(),
      articles: [pictured, articles[0]!],
      issueDate: new Date('2025-11-27T06:00:00Z'),
      images: {
        policy: 'embedded',
        inline: [
          {
            cid,
            sha256: 'b'.repeat(64),
            contentType: 'image/jpeg',
            width: 1200,
            height: 675,
            bytes: 1000,
            sourceUrl: 'https://news.harbourgazette.example/images/quay.jpg',
          },
        ],
        omitted: [],
      },
    });
    const images = fillSlots(rendered.html, htmlLinks).match(/<img\b[^>]*>/g) ?? [];
    expect(images).toHaveLength(2);
    expect(images[0]).toMatch(/alt="The quay at dawn"/);
    expect(images[0]).toMatch(/width="600" height="338"/);
    expect(images[1]).toMatch(/\salt="[^"]+"/);
    expect(images[1]).toMatch(/width="600" height="auto"/);
  });

  it('a link that is not http(s) is never linked or loaded, and optional parts simply disappear', async () => {
    const odd = makeArticle({
      title: 'A story with a strange link',
      publishedAt: '2025-11-27T05:00:00Z',
      url: 'ftp://files.example.org/story',
      image: { url: 'ftp://files.example.org/picture.jpg', alt: 'unused' },
    });
    const rendered = await renderDigest({
      newsletter: sampleNewsletter({ description: undefined }),
      site: sampleSite(),
      articles: [odd],
      issueDate: new Date('2025-11-27T06:00:00Z'),
    });
    const oddHtml = fillSlots(rendered.html, htmlLinks);
    const oddText = fillSlots(rendered.text, LINKS);
    expect(oddHtml).not.toContain('ftp://');
    expect(oddText).not.toContain('ftp://');
    expect(oddHtml).not.toMatch(/<img\s/);
    expect(oddHtml).toMatch(/<h3[^>]*>A story with a strange link<\/h3>/);
    expect(oddText).not.toContain('Read more');
    expect(rendered.subject).toBe('The Daily Digest: A story with a strange link');
  });

  it('a digest without articles is refused', async () => {
    let caught: unknown;
    try {
      await renderDigest({ newsletter: sampleNewsletter(), site: sampleSite(), articles: [], issueDate: new Date() });
    } catch (error) {
      caught = error;
    }
    expect(isAppError(caught, 'digest_empty')).toBe(true);
  });
});

describe('subject and preheader', () => {
  it('one article: the newsletter and its headline', () => {
    expect(composeSubject('Weekly', [{ title: 'Only story' }])).toBe('Weekly: Only story');
  });

  it('a question keeps its mark and the count follows as a new sentence', () => {
    expect(composeSubject('Weekly', [{ title: 'Is the ferry late again?' }, { title: 'b' }, { title: 'c' }])).toBe(
      'Weekly: Is the ferry late again? And 2 more',
    );
  });

  it('a very long headline is shortened at a word', () => {
    const subject = composeSubject('Weekly', [{ title: 'word '.repeat(60) }, { title: 'b' }]);
    expect(subject).toMatch(/^Weekly: (word ){10,}word…, and 1 more$/);
    expect(subject.length).toBeLessThan(130);
  });

  it('a single article previews its standfirst', () => {
    expect(
      composePreheader({ name: 'W', description: undefined }, [{ title: 't', standfirst: 'First  line\nsecond' }]),
    ).toBe('First line second');
  });
});

describe('plain-text wrapping', () => {
  it('never loses or reorders a word and keeps lines within the width unless one word is longer', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-zA-Z0-9.:/?&=-]{1,90}$/), { maxLength: 60 }),
        fc.constantFrom('', '  '),
        (words, indent) => {
          const wrapped = wrapText(indent + words.join(' '), 72);
          const lines = wrapped.split('\n');
          expect(wrapped.split(/\s+/).filter(Boolean)).toEqual(words);
          for (const line of lines) {
            if (line.length > 72) expect(line.trim()).toMatch(/^\S+$/);
            if (words.length > 0) expect(line.startsWith(indent)).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
