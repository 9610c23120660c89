/**
 * The digest's view-model: plain data the HTML (MJML) and text templates both render from, so the two parts always
 * say the same thing. Pure: no templates, no I/O. Every optional field is present as `null` so the templates can run
 * in Handlebars' strict mode, where a misspelt field is an error rather than an empty string.
 */
import type { Article } from '../articles/article.js';
import type { Newsletter, Site } from '../config.js';
import type { ArticleSection } from './select-articles.js';
import { collapseWhitespace, truncateAtWord } from './wrap-text.js';

/** One article card. */
export interface DigestArticleView {
  title: string;
  /** The article's own http(s) link, or null when it has none we would link to. */
  url: string | null;
  /** "By Ada Lovelace and Grace Hopper", or null without authors. */
  byline: string | null;
  /** "27 Nov 2025" (UTC). */
  publishedLabel: string;
  publishedIso: string;
  /** Plain text, whitespace collapsed, shortened for a digest card; null when empty. */
  standfirst: string | null;
  /** The article's own image (never anything else): its http(s) URL, or `cid:` when embedded; or null. */
  image: { url: string; alt: string; caption: string | null } | null;
}

/** One section of the digest. */
export interface DigestSectionView {
  name: string;
  /** The name in capitals, for the plain-text headings. */
  heading: string;
  articles: DigestArticleView[];
}

/** Everything the digest templates show. */
export interface DigestView {
  siteName: string;
  siteUrl: string;
  /** The site's host name, as link text. */
  siteHost: string;
  newsletterName: string;
  description: string | null;
  /** "Thursday 27 November 2025" (UTC). */
  issueDateLabel: string;
  issueDateIso: string;
  subject: string;
  preheader: string;
  sections: DigestSectionView[];
  articleCount: number;
  postalAddress: string;
  /** Why the reader gets this email. */
  reason: string;
  /** Recipient slots: markers while the frozen render is made, real URLs only per recipient. */
  unsubscribeUrl: string;
  preferencesUrl: string;
}

/** Input of `buildDigestView`. */
export interface BuildDigestViewInput {
  newsletter: Pick<Newsletter, 'name' | 'description'>;
  site: Pick<Site, 'name' | 'baseUrl' | 'postalAddress'>;
  sections: readonly ArticleSection[];
  issueDate: Date;
  /** Values (or slot markers) for the personal links. */
  links: { unsubscribeUrl: string; preferencesUrl: string };
}

/** Longest standfirst shown on a card; the article itself has the rest. */
const STANDFIRST_MAX = 320;
/** Longest headline kept in the subject line. */
const SUBJECT_HEADLINE_MAX = 100;
/** Longest preheader; clients show 40 to 140 characters. */
const PREHEADER_MAX = 140;

const issueDateFormat = new Intl.DateTimeFormat('en-GB', {
  weekday: 'long',
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  timeZone: 'UTC',
});
const articleDateFormat = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  timeZone: 'UTC',
});

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

function articleView(article: Article): DigestArticleView {
  const imageUrl = imageSourceOrNull(article.image?.url);
  const standfirst = collapseWhitespace(article.standfirst);
  return {
    title: collapseWhitespace(article.title),
    url: httpUrlOrNull(article.url),
    byline: formatByline(article.authors),
    publishedLabel: articleDateFormat.format(new Date(article.publishedAt)),
    publishedIso: new Date(article.publishedAt).toISOString(),
    standfirst: standfirst ? truncateAtWord(standfirst, STANDFIRST_MAX) : null,
    image:
      article.image && imageUrl
        ? {
            url: imageUrl,
            alt: collapseWhitespace(article.image.alt),
            caption: article.image.caption ? collapseWhitespace(article.image.caption) || null : null,
          }
        : null,
  };
}

/** Builds the view-model both digest templates render. */
export function buildDigestView(input: BuildDigestViewInput): DigestView {
  const { newsletter, site, sections, issueDate, links } = input;
  const articles = sections.flatMap((section) => section.articles);
  const siteUrl = site.baseUrl.replace(/\/+$/, '');
  return {
    siteName: site.name,
    siteUrl,
    siteHost: new URL(site.baseUrl).host,
    newsletterName: newsletter.name,
    description: newsletter.description ? collapseWhitespace(newsletter.description) || null : null,
    issueDateLabel: issueDateFormat.format(issueDate).replace(',', ''),
    issueDateIso: issueDate.toISOString().slice(0, 10),
    subject: composeSubject(newsletter.name, articles),
    preheader: composePreheader(newsletter, articles),
    sections: sections.map((section) => ({
      name: section.name,
      heading: section.name.toUpperCase(),
      articles: section.articles.map(articleView),
    })),
    articleCount: articles.length,
    postalAddress: collapseWhitespace(site.postalAddress),
    reason: `You are receiving ${newsletter.name} because you subscribed to it at ${site.name}.`,
    unsubscribeUrl: links.unsubscribeUrl,
    preferencesUrl: links.preferencesUrl,
  };
}
