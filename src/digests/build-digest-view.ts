/**
 * The digest's view-model: plain data the HTML (MJML) and text templates both render from, so the two parts always
 * say the same thing. Pure: no templates, no I/O. Every optional field is present as `null` so the templates can run
 * in Handlebars' strict mode, where a misspelt field is an error rather than an empty string.
 */
import type { Article } from '../articles/article.js';
import type { Newsletter, Site } from '../config.js';
import type { RenderedMarkdown } from './render-markdown.js';
import type { ArticleSection } from './select-articles.js';
import { collapseWhitespace, truncateAtWord } from './wrap-text.js';

/** One article card. */
export interface DigestArticleView {
  title: string;
  /** The article's own http(s) link, or null when it has none we would link to. */
  url: string | null;
  /** "By Ada Lovelace and Grace Hopper", or null without authors. */
  byline: string | null;
  /** "27 Nov 2025", in the site's locale and time zone. */
  publishedLabel: string;
  publishedIso: string;
  /** Plain text, whitespace collapsed, shortened for a digest card; null when empty. */
  standfirst: string | null;
  /**
   * The article's own image (never anything else): its http(s) URL, or `cid:` when embedded; or null. `height` is
   * its height in pixels at the card's width when its size is known (embedded images), else null.
   */
  image: { url: string; alt: string; caption: string | null; height: number | null } | null;
}

/** One section of the digest. */
export interface DigestSectionView {
  name: string;
  /** The name in capitals, for the plain-text headings. */
  heading: string;
  articles: DigestArticleView[];
}

/** A letter as the templates show it: its title, its body both ways, and the signature. */
export interface LetterView {
  title: string;
  html: string;
  text: string;
  /** "— Maggie Chen" */
  signature: string;
}

/** The link to the web version when the size budget left articles out of the email. */
export interface MoreOnSiteView {
  /** "3 more articles in the web version of this issue" */
  label: string;
  url: string;
}

/** Everything the digest templates show. */
export interface DigestView {
  /** `lang` of the email: the site's locale. */
  lang: string;
  siteName: string;
  siteUrl: string;
  /** The site's host name, as link text. */
  siteHost: string;
  newsletterName: string;
  description: string | null;
  /** "Thursday 27 November 2025", in the site's locale and time zone. */
  issueDateLabel: string;
  issueDateIso: string;
  subject: string;
  preheader: string;
  /** The web version of this issue ("View in your browser"): the same URL for every reader. */
  archiveUrl: string | null;
  /** The editor's note above the articles. */
  note: RenderedMarkdown | null;
  letter: LetterView | null;
  sections: DigestSectionView[];
  moreOnSite: MoreOnSiteView | null;
  articleCount: number;
  postalAddress: string;
  /** Why the reader gets this email. */
  reason: string;
  /** Recipient slots: markers while the frozen render is made, real URLs only per recipient. */
  unsubscribeUrl: string;
  preferencesUrl: string;
}

/** What an editor wrote, already rendered from Markdown, and the overrides of the composed lines. */
export interface EditorialView {
  note?: RenderedMarkdown;
  letter?: { title: string; body: RenderedMarkdown; author: string };
  subject?: string;
  preheader?: string;
}

/** Input of `buildDigestView`. */
export interface BuildDigestViewInput {
  newsletter: Pick<Newsletter, 'name' | 'description'>;
  site: Pick<Site, 'name' | 'baseUrl' | 'postalAddress' | 'locale' | 'timeZone'>;
  sections: readonly ArticleSection[];
  issueDate: Date;
  /** Values (or slot markers) for the personal links. */
  links: { unsubscribeUrl: string; preferencesUrl: string };
  /** The note, the letter and the overrides. @defaultValue none */
  editorial?: EditorialView;
  /** The web version's URL. @defaultValue none (no "View in your browser" line) */
  archiveUrl?: string;
  /** Articles the size budget left out of the email: how many, linked to the web version. @defaultValue 0 */
  articlesOnlyOnWeb?: number;
  /** Pixel sizes of images known at render time (embedded images), by the URL the card shows. @defaultValue none */
  imageSizes?: ReadonlyMap<string, ImageSize>;
}

/** An image's pixel size. */
export interface ImageSize {
  width: number;
  height: number;
}

/** Width of a card's image in the email, in CSS pixels (the layout's width). */
export const CARD_IMAGE_WIDTH = 600;

/** Longest standfirst shown on a card; the article itself has the rest. */
const STANDFIRST_MAX = 320;
/** Longest headline kept in the subject line. */
const SUBJECT_HEADLINE_MAX = 100;
/** Longest preheader; clients show 40 to 140 characters. */
const PREHEADER_MAX = 140;

/** The date formats of one locale and zone, built once per pair (Intl formatters are costly to make). */
const dateFormats = new Map<
  string,
  { issue: Intl.DateTimeFormat; article: Intl.DateTimeFormat; iso: Intl.DateTimeFormat }
>();

/** Date formats for a site: the issue's long date, an article's short date, and the calendar date as YYYY-MM-DD. */
export function siteDateFormats(site: Pick<Site, 'locale' | 'timeZone'>) {
  const key = `${site.locale}|${site.timeZone}`;
  let formats = dateFormats.get(key);
  if (!formats) {
    const zone = { timeZone: site.timeZone };
    formats = {
      issue: new Intl.DateTimeFormat(site.locale, {
        weekday: 'long',
        day: 'numeric',
        month: 'long',
        year: 'numeric',
        ...zone,
      }),
      article: new Intl.DateTimeFormat(site.locale, { day: 'numeric', month: 'short', year: 'numeric', ...zone }),
      iso: new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', ...zone }),
    };
    dateFormats.set(key, formats);
  }
  return formats;
}

/** The URL when it is absolute http(s), else null: nothing else (javascript:, data:) is ever linked or loaded. */
function httpUrlOrNull(value: string | undefined): string | null {
  if (!value) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? value : null;
  } catch {
    return null;
  }
}

/** An image source: http(s) as for links, or a `cid:` reference to a part of the message (embedded images). */
function imageSourceOrNull(value: string | undefined): string | null {
  if (value?.startsWith('cid:') && /^cid:[A-Za-z0-9._-]+@[A-Za-z0-9.-]+$/.test(value)) return value;
  return httpUrlOrNull(value);
}

/** "By A", "By A and B", "By A, B and C"; null without authors. */
export function formatByline(authors: readonly string[]): string | null {
  const names = authors.map(collapseWhitespace).filter((name) => name.length > 0);
  if (names.length === 0) return null;
  if (names.length === 1) return `By ${names[0]}`;
  return `By ${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/**
 * The subject line: `${newsletter}: ${top headline}`, and when more articles follow, `, and N more` (or `? And N more`
 * after a headline that ends in a question or exclamation mark). Long headlines are shortened at a word.
 */
export function composeSubject(newsletterName: string, articles: readonly Pick<Article, 'title'>[]): string {
  const [top] = articles;
  if (!top) return newsletterName;
  const headline = truncateAtWord(collapseWhitespace(top.title), SUBJECT_HEADLINE_MAX);
  const more = articles.length - 1;
  if (more === 0) return `${newsletterName}: ${headline}`;
  if (/[?!]$/.test(headline)) return `${newsletterName}: ${headline} And ${more} more`;
  return `${newsletterName}: ${headline.replace(/\.$/, '')}, and ${more} more`;
}

/**
 * The subject an issue goes out with: the editor's override, else a letter's `${newsletter}: ${title}`, else the
 * composed digest subject (see `composeSubject`).
 */
export function subjectFor(
  newsletter: Pick<Newsletter, 'name'>,
  articles: readonly Pick<Article, 'title'>[],
  overrides: { subject?: string; letterTitle?: string },
): string {
  if (overrides.subject) return collapseWhitespace(overrides.subject);
  if (overrides.letterTitle) return `${newsletter.name}: ${collapseWhitespace(overrides.letterTitle)}`;
  return composeSubject(newsletter.name, articles);
}

/**
 * The preheader (the grey line after the subject in an inbox): the next headlines when there are several articles,
 * else the top article's standfirst, else the newsletter's description or name.
 */
export function composePreheader(
  newsletter: Pick<Newsletter, 'name' | 'description'>,
  articles: readonly Pick<Article, 'title' | 'standfirst'>[],
): string {
  const [top, ...rest] = articles;
  if (rest.length > 0) {
    return truncateAtWord(
      `Also in this issue: ${rest.map((a) => collapseWhitespace(a.title)).join(' · ')}`,
      PREHEADER_MAX,
    );
  }
  const fallback = top?.standfirst ? top.standfirst : (newsletter.description ?? newsletter.name);
  return truncateAtWord(collapseWhitespace(fallback), PREHEADER_MAX);
}

/** The preheader of a letter: the start of its text. */
function letterPreheader(text: string): string {
  return truncateAtWord(collapseWhitespace(text), PREHEADER_MAX);
}

/** "1 more article ..." / "3 more articles ..." in the web version. */
function moreOnSiteLabel(count: number): string {
  return `${count} more ${count === 1 ? 'article' : 'articles'} in the web version of this issue`;
}

/** One article as a card shows it, dates in the site's locale and zone. */
export function articleView(
  article: Article,
  site: Pick<Site, 'locale' | 'timeZone'>,
  imageSizes: ReadonlyMap<string, ImageSize> = new Map(),
): DigestArticleView {
  const imageUrl = imageSourceOrNull(article.image?.url);
  const size = imageUrl ? imageSizes.get(imageUrl) : undefined;
  const standfirst = collapseWhitespace(article.standfirst);
  return {
    title: collapseWhitespace(article.title),
    url: httpUrlOrNull(article.url),
    byline: formatByline(article.authors),
    publishedLabel: siteDateFormats(site).article.format(new Date(article.publishedAt)),
    publishedIso: new Date(article.publishedAt).toISOString(),
    standfirst: standfirst ? truncateAtWord(standfirst, STANDFIRST_MAX) : null,
    image:
      article.image && imageUrl
        ? {
            url: imageUrl,
            alt: collapseWhitespace(article.image.alt),
            caption: article.image.caption ? collapseWhitespace(article.image.caption) || null : null,
            height: size ? Math.round((CARD_IMAGE_WIDTH * size.height) / size.width) : null,
          }
        : null,
  };
}

/** Builds the view-model both digest templates render. */
export function buildDigestView(input: BuildDigestViewInput): DigestView {
  const { newsletter, site, sections, issueDate, links, editorial = {} } = input;
  const articles = sections.flatMap((section) => section.articles);
  const siteUrl = site.baseUrl.replace(/\/+$/, '');
  const formats = siteDateFormats(site);
  const letter = editorial.letter;
  const composedPreheader = letter ? letterPreheader(letter.body.text) : composePreheader(newsletter, articles);
  const onlyOnWeb = input.articlesOnlyOnWeb ?? 0;
  return {
    lang: site.locale,
    siteName: site.name,
    siteUrl,
    siteHost: new URL(site.baseUrl).host,
    newsletterName: newsletter.name,
    description: newsletter.description ? collapseWhitespace(newsletter.description) || null : null,
    issueDateLabel: formats.issue.format(issueDate).replace(',', ''),
    issueDateIso: formats.iso.format(issueDate),
    subject: subjectFor(newsletter, articles, { subject: editorial.subject, letterTitle: letter?.title }),
    preheader: editorial.preheader ? collapseWhitespace(editorial.preheader) : composedPreheader,
    archiveUrl: input.archiveUrl ?? null,
    note: editorial.note && editorial.note.text !== '' ? editorial.note : null,
    letter: letter
      ? {
          title: collapseWhitespace(letter.title),
          html: letter.body.html,
          text: letter.body.text,
          signature: `— ${collapseWhitespace(letter.author)}`,
        }
      : null,
    sections: sections.map((section) => ({
      name: section.name,
      heading: section.name.toUpperCase(),
      articles: section.articles.map((article) => articleView(article, site, input.imageSizes)),
    })),
    moreOnSite: onlyOnWeb > 0 && input.archiveUrl ? { label: moreOnSiteLabel(onlyOnWeb), url: input.archiveUrl } : null,
    articleCount: articles.length,
    postalAddress: collapseWhitespace(site.postalAddress),
    reason: `You are receiving ${newsletter.name} because you subscribed to it at ${site.name}.`,
    unsubscribeUrl: links.unsubscribeUrl,
    preferencesUrl: links.preferencesUrl,
  };
}
