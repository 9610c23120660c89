/**
 * The emails as a reader sees them in Chromium, in the light and in the dark colour scheme, on a phone and on a
 * desktop: every combination is saved as a screenshot (`test-artifacts/screenshots/email-*.png`) to look at, and
 * in both schemes every piece of visible text (body text, headings, links, small print) must keep a WCAG contrast
 * ratio of at least 4.5:1 against the background it is actually drawn on.
 */
import { simpleParser } from 'mailparser';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_CHROMIUM, launchBrowser, saveScreenshot } from '../helpers/browser.js';
import {
  renderSampleIssue,
  SAMPLE_LETTER,
  sampleConfirmationMessage,
  sampleFeedArticles,
  sampleReaderHtml,
} from '../helpers/sample-issue.js';

/** WCAG 2 AA for normal text. */
const MIN_CONTRAST = 4.5;

const SCHEMES = ['light', 'dark'] as const;
const WIDTHS = [375, 1200] as const;

/** One piece of visible text and the colours it is drawn in. */
interface TextSample {
  /** The element's tag, after its heading's when it sits in one (`h3 a` for a headline's link). */
  tag: string;
  text: string;
  color: string;
  background: string;
  ratio: number;
}

/**
 * Runs in the page: every visible element that holds text of its own, with its computed colour and the background
 * of the nearest ancestor (or itself) whose background colour is not transparent, and their WCAG contrast ratio.
 */
function sampleTextColours(): TextSample[] {
  const parse = (value: string): [number, number, number, number] => {
    const parts = (value.match(/[\d.]+/g) ?? []).map(Number);
    return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0, parts[3] ?? 1];
  };
  const luminance = ([r, g, b]: number[]): number => {
    const [lr, lg, lb] = [r, g, b].map((channel) => {
      const c = (channel ?? 0) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * (lr ?? 0) + 0.7152 * (lg ?? 0) + 0.0722 * (lb ?? 0);
  };
  const backgroundOf = (element: Element): string => {
    for (let node: Element | null = element; node; node = node.parentElement) {
      const background = getComputedStyle(node).backgroundColor;
      if (parse(background)[3] > 0 && background !== 'transparent') return background;
    }
    return 'rgb(255, 255, 255)'; // the canvas
  };
  const samples: TextSample[] = [];
  for (const element of document.body.querySelectorAll('p, li, blockquote, h1, h2, h3, a, time, div, td')) {
    const ownText = [...element.childNodes]
      .filter((node) => node.nodeType === Node.TEXT_NODE)
      .map((node) => node.textContent ?? '')
      .join('')
      .trim();
    if (ownText === '' || !(element as HTMLElement).checkVisibility({ opacityProperty: true })) continue;
    const color = getComputedStyle(element).color;
    const background = backgroundOf(element);
    const [light, dark] = [luminance(parse(color)), luminance(parse(background))].sort((a, b) => b - a) as [
      number,
      number,
    ];
    samples.push({
      tag: [element.closest('h1, h2, h3')?.tagName, element.tagName]
        .filter((name, index, names) => name && names.indexOf(name) === index)
        .join(' ')
        .toLowerCase(),
      text: ownText.slice(0, 60),
      color,
      background,
      ratio: (light + 0.05) / (dark + 0.05),
    });
  }
  return samples;
}

/** Relative luminance of a computed `rgb(...)` colour, in Node. */
function luminanceOf(value: string): number {
  const [r = 0, g = 0, b = 0] = (value.match(/[\d.]+/g) ?? []).map(Number);
  const linear = (channel: number) => {
    const c = channel / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

describe.skipIf(!HAS_CHROMIUM)('the emails in light and dark colour schemes (Chromium)', () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const requested: string[] = [];
  const emails: Record<'digest' | 'letter' | 'confirmation', string> = { digest: '', letter: '', confirmation: '' };
  let articleImages: Set<string>;

  beforeAll(async () => {
    const [issue, letter, confirmation, launched] = await Promise.all([
      renderSampleIssue(),
      renderSampleIssue({ letter: SAMPLE_LETTER, note: 'A **short** note.\n\n- one\n- two\n\n> A quotation.' }),
      sampleConfirmationMessage().then((raw) => simpleParser(raw)),
      launchBrowser(),
    ]);
    browser = launched;
    emails.digest = sampleReaderHtml(issue);
    emails.letter = sampleReaderHtml(letter);
    emails.confirmation = String(confirmation.html);
    articleImages = new Set(sampleFeedArticles().flatMap((article) => (article.image ? [article.image.url] : [])));
    // The articles' own images are the only remote resources; a flat placeholder stands in for them (nothing
    // leaves the machine) so the screenshots show the layout as a reader would see it.
    const placeholder = await sharp({ create: { width: 1200, height: 675, channels: 3, background: '#8aa4b8' } })
      .png()
      .toBuffer();
    context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    await context.route(
      (url) => !/^(about|data):/.test(url.toString()),
      async (route) => {
        requested.push(route.request().url());
        await route.fulfill({ contentType: 'image/png', body: placeholder });
      },
    );
    page = await context.newPage();
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
  });

  async function show(email: keyof typeof emails, scheme: (typeof SCHEMES)[number], width: number): Promise<void> {
    await page.setViewportSize({ width, height: 900 });
    await page.emulateMedia({ colorScheme: scheme });
    await page.setContent(emails[email], { waitUntil: 'load' });
  }

  for (const email of ['digest', 'letter', 'confirmation'] as const) {
    for (const scheme of SCHEMES) {
      it(`the ${email} keeps every text at least ${MIN_CONTRAST}:1 against its background in ${scheme} mode`, async () => {
        for (const width of WIDTHS) {
          await show(email, scheme, width);
          await saveScreenshot(page, `email-${email}-${scheme}-${width}`);
          const samples = await page.evaluate(sampleTextColours);
          const tags = new Set(samples.map((sample) => sample.tag));
          for (const tag of email === 'confirmation' ? ['h1', 'p', 'a'] : ['h1', 'h2', 'h3 a', 'p', 'a'])
            expect(tags, `no visible <${tag}> text was found in the ${email}`).toContain(tag);
          const poor = samples.filter((sample) => sample.ratio < MIN_CONTRAST);
          expect(
            poor.map((s) => `<${s.tag}> "${s.text}": ${s.color} on ${s.background} = ${s.ratio.toFixed(2)}:1`),
            `text under ${MIN_CONTRAST}:1 in the ${email}, ${scheme} mode, ${width} px`,
          ).toEqual([]);
        }
      });
    }
  }

  it('in dark mode the page is dark and the text light, and in light mode the other way round', async () => {
    for (const scheme of SCHEMES) {
      await show('digest', scheme, 1200);
      const colours = await page.evaluate(() => {
        const standfirst = [...document.querySelectorAll('h3 ~ p')].find((p) => !p.className)!;
        const card = standfirst.closest('td')!;
        return {
          page: getComputedStyle(document.body).backgroundColor,
          card: getComputedStyle(card).backgroundColor,
          text: getComputedStyle(standfirst).color,
          link: getComputedStyle(document.querySelector('a[aria-label^="Read more"]')!).color,
        };
      });
      if (scheme === 'dark') {
        expect(luminanceOf(colours.page), colours.page).toBeLessThan(0.05);
        expect(luminanceOf(colours.card), colours.card).toBeLessThan(0.05);
        expect(luminanceOf(colours.text), colours.text).toBeGreaterThan(0.6);
        expect(luminanceOf(colours.link), colours.link).toBeGreaterThan(0.3);
      } else {
        expect(luminanceOf(colours.page), colours.page).toBeGreaterThan(0.8);
        expect(luminanceOf(colours.card), colours.card).toBeGreaterThan(0.9);
        expect(luminanceOf(colours.text), colours.text).toBeLessThan(0.05);
      }
    }
  });

  it('loads nothing but the articles’ own images, in either scheme', () => {
    expect(requested.length).toBeGreaterThan(0);
    for (const url of requested) expect(articleImages.has(url), url).toBe(true);
  });
});
