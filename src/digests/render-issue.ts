/**
 * Rendering an issue as it will go out: the editor's Markdown, the email within its size budget, and the web version.
 * The preview of a draft and the freeze call the same function, so what an editor previews is what readers receive.
 *
 * The budget: Gmail clips an HTML part over about 102 KB and hides the rest (the footer with the unsubscribe link
 * among it). When the whole issue would pass `site.htmlBudgetKb`, the email keeps the longest run of leading
 * articles that fits and links to the web version for the rest ("more on the site"); the web version has them all.
 */
import type { Article } from '../articles/article.js';
import type { Config, Newsletter } from '../config.js';
import { linksForToken } from '../subscribers/tokens.js';
import { buildDigestView, type EditorialView } from './build-digest-view.js';
import type {
  Digest,
  DigestBody,
  DigestComposition,
  DigestImages,
  DigestWeb,
  OmittedArticle,
  SlottedText,
} from './digest.js';
import { escapeHtml, fillSlots } from './fill-slots.js';
import { renderDigest } from './render-digest.js';
import { renderMarkdown } from './render-markdown.js';
import { groupRunsBySection } from './select-articles.js';

/** Input of `renderIssue`. */
export interface RenderIssueInput {
  digest: Pick<Digest, 'id' | 'newsletterId'>;
  composition: DigestComposition;
  /** The issue's articles in the editor's order. */
  articles: Article[];
  newsletter: Newsletter;
  site: Config['site'];
  issueDate: Date;
  /** What the newsletter's image policy made of the articles' images (`freezeDigestImages`). @defaultValue remote */
  images?: Omit<DigestImages, 'remote'>;
}

/** An issue rendered for sending (or previewing). */
export interface RenderedIssue {
  body: DigestBody;
  web: DigestWeb;
  /** Bytes of the HTML part as a reader receives it. */
  htmlBytes: number;
  budgetBytes: number;
  /** The articles the email carries, in order (the web version carries all). */
  emailArticleIds: string[];
  /** Articles left out of the email, with the reason. */
  omitted: OmittedArticle[];
  /** Even the shortest email (one article, or a letter alone) passes the budget: the note or letter is too long. */
  isOverBudget: boolean;
}

/** Gmail clips an HTML part larger than this (about 102 KB). */
export const GMAIL_CLIP_BYTES = 102 * 1024;

/** The public URL of a digest's web version: the same for every reader, never personal. */
export function archiveUrlFor(site: Pick<Config['site'], 'baseUrl'>, digest: Pick<Digest, 'id' | 'newsletterId'>) {
  return `${site.baseUrl.replace(/\/+$/, '')}/archive/${digest.newsletterId}/${digest.id}`;
}

/** Bytes of a slotted HTML part once a reader's links are in it (measured with links of a real token's length). */
export function measureHtmlBytes(
  html: SlottedText,
  site: Pick<Config['site'], 'baseUrl'>,
  newsletterId: string,
): number {
  const links = linksForToken(site, `1234567.${newsletterId}.${'x'.repeat(22)}`);
  return Buffer.byteLength(
    fillSlots(html, {
      unsubscribeUrl: escapeHtml(links.unsubscribeUrl),
      preferencesUrl: escapeHtml(links.preferencesUrl),
    }),
  );
}

function editorialFrom(composition: DigestComposition, baseUrl: string): EditorialView {
  return {
    note: composition.note.trim() ? renderMarkdown(composition.note, baseUrl) : undefined,
    letter: composition.letter
      ? {
          title: composition.letter.title,
          body: renderMarkdown(composition.letter.body, baseUrl),
          author: composition.letter.author,
        }
      : undefined,
    subject: composition.subject,
    preheader: composition.preheader,
  };
}

/** One rendering of the email with the first `count` articles. */
interface Fitting {
  count: number;
  body: DigestBody;
  htmlBytes: number;
}

/**
 * The most leading articles whose email fits the budget, found by binary search (a few renders, not one per
 * article); a letter may keep none, a digest keeps at least one even when that one is over.
 */
async function fitToBudget(
  whole: Fitting,
  render: (count: number) => Promise<Fitting>,
  budgetBytes: number,
  fewest: number,
): Promise<{ fitted: Fitting; isOverBudget: boolean }> {
  if (whole.htmlBytes <= budgetBytes) return { fitted: whole, isOverBudget: false };
  let best = await render(fewest);
  if (best.htmlBytes > budgetBytes) return { fitted: best, isOverBudget: true };
  let low = fewest + 1;
  let high = whole.count - 1;
  while (low <= high) {
    const middle = Math.floor((low + high) / 2);
    const attempt = await render(middle);
    if (attempt.htmlBytes <= budgetBytes) {
      best = attempt;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return { fitted: best, isOverBudget: false };
}

/**
 * Renders an issue: the email (within the budget, see the module comment) and the web version. Throws
 * `digest_empty` for a digest without articles (a letter may have none) and `template_invalid` for broken templates.
 */
export async function renderIssue(input: RenderIssueInput): Promise<RenderedIssue> {
  const { digest, newsletter, site, articles } = input;
  const editorial = editorialFrom(input.composition, site.baseUrl);
  const archiveUrl = archiveUrlFor(site, digest);
  const budgetBytes = site.htmlBudgetKb * 1024;
  const render = async (count: number): Promise<Fitting> => {
    const body = await renderDigest({
      newsletter,
      site,
      articles: articles.slice(0, count),
      issueDate: input.issueDate,
      editorial,
      archiveUrl,
      articlesOnlyOnWeb: articles.length - count,
      keepOrder: true,
      images: input.images,
    });
    return { count, body, htmlBytes: measureHtmlBytes(body.html, site, newsletter.id) };
  };
  const whole = await render(articles.length);
  const fewest = editorial.letter ? 0 : Math.min(1, articles.length);
  const { fitted, isOverBudget } = await fitToBudget(whole, render, budgetBytes, fewest);

  const leftOut = articles.slice(fitted.count);
  const wholeKb = Math.ceil(whole.htmlBytes / 1024);
  const reason =
    `left out of the email to keep it under the ${site.htmlBudgetKb} KB budget (with it the email would be ` +
    `${wholeKb} KB; Gmail clips at 102 KB); it is in the web version, linked at the end`;
  const omitted = leftOut.map((article) => ({ articleId: article.id, title: article.title, reason }));
  return {
    body: fitted.body,
    web: buildDigestWeb(input, editorial, fitted.body, new Set(leftOut.map((article) => article.id)), omitted),
    htmlBytes: fitted.htmlBytes,
    budgetBytes,
    emailArticleIds: articles.slice(0, fitted.count).map((article) => article.id),
    omitted,
    isOverBudget,
  };
}

/** The web version: every article (images left out: the archive loads nothing from another origin), no personal link. */
function buildDigestWeb(
  input: RenderIssueInput,
  editorial: EditorialView,
  body: DigestBody,
  onlyOnWeb: ReadonlySet<string>,
  omitted: OmittedArticle[],
): DigestWeb {
  const sections = groupRunsBySection(input.articles);
  const view = buildDigestView({
    newsletter: input.newsletter,
    site: input.site,
    sections,
    issueDate: input.issueDate,
    links: { unsubscribeUrl: '', preferencesUrl: '' },
    editorial,
  });
  return {
    subject: body.subject,
    preheader: body.preheader,
    newsletterName: input.newsletter.name,
    issueDateIso: view.issueDateIso,
    issueDateLabel: view.issueDateLabel,
    lang: view.lang,
    noteHtml: view.note?.html ?? null,
    letter: view.letter
      ? { title: view.letter.title, html: view.letter.html, author: input.composition.letter?.author ?? '' }
      : null,
    sections: view.sections.map((section, sectionIndex) => ({
      name: section.name,
      articles: section.articles.map((article, articleIndex) => {
        const id = sections[sectionIndex]?.articles[articleIndex]?.id ?? '';
        return {
          id,
          title: article.title,
          url: article.url,
          byline: article.byline,
          publishedLabel: article.publishedLabel,
          publishedIso: article.publishedIso,
          standfirst: article.standfirst,
          isOnlyOnWeb: onlyOnWeb.has(id),
        };
      }),
    })),
    omitted,
  };
}
