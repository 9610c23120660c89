/**
 * Renders a digest once: view-model → Handlebars → MJML (compiled once, strict validation) → HTML, and the same
 * view-model → plain text. The personal links are left open as recipient slots: the templates receive random
 * markers in their place, and the finished HTML and text are split on those markers into `SlottedText`, so the
 * per-recipient work later is only filling the slots.
 */
import { randomBytes } from 'node:crypto';
import mjml2html from 'mjml';
import type { Article } from '../articles/article.js';
import type { Config, Newsletter } from '../config.js';
import { AppError } from '../errors.js';
import { buildDigestView, type EditorialView } from './build-digest-view.js';
import { checkTemplateMarkup } from './check-template-markup.js';
import { RecipientSlot, type DigestBody, type DigestImages, type SlottedText } from './digest.js';
import { loadDigestTemplates } from './load-digest-templates.js';
import { groupBySection, groupRunsBySection } from './select-articles.js';
import { wrapText } from './wrap-text.js';

/** Input of `renderDigest`: the articles in the order the digest shows them (see `selectArticles`). */
export interface RenderDigestInput {
  newsletter: Newsletter;
  site: Config['site'];
  articles: Article[];
  issueDate: Date;
  /**
   * What the newsletter's image policy made of the articles' images (`freezeDigestImages`): embedded images carry
   * `cid:` URLs in the articles. @defaultValue the `remote` policy with nothing embedded or omitted
   */
  images?: Omit<DigestImages, 'remote'>;
  /** The editor's note, the letter, and subject or preheader overrides. @defaultValue none */
  editorial?: EditorialView;
  /** The web version's URL, for "View in your browser" (the same for every reader). @defaultValue none */
  archiveUrl?: string;
  /** How many articles only the web version has (linked at the end as "more on the site"). @defaultValue 0 */
  articlesOnlyOnWeb?: number;
  /**
   * Show the articles exactly in the given order, a section heading for each run of one section (an editor's
   * order); otherwise they are grouped by section in order of each section's first article. @defaultValue false
   */
  keepOrder?: boolean;
}

/** Options of `renderDigest`. */
export interface RenderDigestOptions {
  /** Folder holding `digest.mjml`, `digest.txt` and `partials/`. @defaultValue the repository's `emails/` */
  templatesDir?: string;
}

/** Column the plain-text part wraps at. */
export const TEXT_WIDTH = 72;

const SLOT_NAMES = Object.values(RecipientSlot);

/** Random markers for this render; the nonce is re-drawn in the (astronomically unlikely) case content contains it. */
function makeSlotMarkers(content: string): { nonce: string; values: Record<RecipientSlot, string> } {
  let nonce = randomBytes(12).toString('hex');
  while (content.includes(nonce)) nonce = randomBytes(12).toString('hex');
  const values = Object.fromEntries(SLOT_NAMES.map((slot) => [slot, `lpslot${nonce}${slot}`])) as Record<
    RecipientSlot,
    string
  >;
  return { nonce, values };
}

/** Splits rendered output on the markers: literal, slot, literal, ..., literal. */
function splitOnMarkers(rendered: string, nonce: string, part: string): SlottedText {
  const pattern = new RegExp(`lpslot${nonce}(${SLOT_NAMES.join('|')})`);
  const segments = rendered.split(pattern);
  for (let i = 0; i < segments.length; i += 2) {
    if (segments[i]?.includes(nonce)) {
      throw new AppError('template_invalid', `the ${part} part altered a recipient slot marker`);
    }
  }
  const present = new Set(segments.filter((_, i) => i % 2 === 1));
  for (const slot of SLOT_NAMES) {
    if (!present.has(slot)) throw new AppError('template_invalid', `the ${part} part has no ${slot} link`);
  }
  return segments;
}

interface MjmlValidationError {
  line?: number;
  tagName?: string;
  message?: string;
  formattedMessage?: string;
}

/** One of MJML's validation errors as `line N <mj-tag>: what` (MJML's own text names the process's folder instead). */
function describeMjmlError(error: MjmlValidationError): string {
  if (error.message === undefined) return error.formattedMessage ?? String(error);
  const where = [error.line === undefined ? '' : `line ${error.line}`, error.tagName ? `<${error.tagName}>` : '']
    .filter(Boolean)
    .join(' ');
  return where ? `${where}: ${error.message}` : error.message;
}

/**
 * Compiles MJML with strict validation and no remote fonts; a broken template throws `template_invalid` naming the
 * template (`templateName`, e.g. the file's path) and every problem MJML found (line numbers are those of the
 * rendered source, partials included).
 */
export async function compileMjml(source: string, templateName: string): Promise<string> {
  const problems = checkTemplateMarkup(source, 'mjml');
  if (problems.length > 0) {
    throw new AppError(
      'template_invalid',
      `template ${templateName}: MJML is not well-formed: ${problems.map((p) => `line ${p.line}: ${p.message}`).join('; ')}`,
    );
  }
  try {
    // fonts: {} keeps MJML from adding its default Google Fonts links; no remote resource may load.
    const result = await mjml2html(source, {
      validationLevel: 'strict',
      fonts: {},
      keepComments: false,
      ignoreIncludes: true,
    });
    return result.html;
  } catch (error) {
    const details = (error as { errors?: MjmlValidationError[] }).errors;
    const reasons = details?.map(describeMjmlError).join('; ');
    throw new AppError(
      'template_invalid',
      `template ${templateName}: MJML failed strict validation: ${reasons ? `${reasons} (lines of the rendered MJML, partials inlined)` : (error as Error).message}`,
    );
  }
}

/**
 * Drops MJML's indentation and blank lines (about a fifth of the HTML). Outside `pre` and `textarea` a line break plus
 * indentation renders exactly like a line break, so nothing visible changes; the saving matters because Gmail clips
 * messages over about 102 KB, and a clipped digest hides its footer with the unsubscribe link.
 */
export function compactHtml(html: string): string {
  const normalised = html.replace(/\r\n?/g, '\n');
  if (/<(pre|textarea)\b/i.test(normalised)) return normalised;
  return normalised.replace(/\n[ \t]+/g, '\n').replace(/\n{2,}/g, '\n');
}

/** Tidies the rendered text: LF line ends, at most two blank lines in a row, wrapped, one final newline. */
export function finishText(text: string): string {
  const normalised = text.replace(/\r\n?/g, '\n').replace(/\n{4,}/g, '\n\n\n');
  return `${wrapText(normalised, TEXT_WIDTH).trim()}\n`;
}

/**
 * Renders a digest's frozen body: subject, preheader, HTML and text with the `unsubscribeUrl` and `preferencesUrl`
 * slots open. Throws `digest_empty` without articles and `template_invalid` when a template is broken.
 * Slot values are inserted verbatim later: the HTML slots sit inside attributes and text, so HTML values must be
 * escaped by the filler (see `fillSlots`).
 */
export async function renderDigest(input: RenderDigestInput, options: RenderDigestOptions = {}): Promise<DigestBody> {
  if (input.articles.length === 0 && !input.editorial?.letter) {
    throw new AppError('digest_empty', 'a digest needs at least one article');
  }
  const templates = loadDigestTemplates(options.templatesDir);
  const markers = makeSlotMarkers(JSON.stringify([input.articles, input.newsletter, input.site, input.editorial]));
  const view = buildDigestView({
    newsletter: input.newsletter,
    site: input.site,
    sections: input.keepOrder ? groupRunsBySection(input.articles) : groupBySection(input.articles),
    issueDate: input.issueDate,
    links: markers.values,
    editorial: input.editorial,
    archiveUrl: input.archiveUrl,
    articlesOnlyOnWeb: input.articlesOnlyOnWeb,
    imageSizes: new Map((input.images?.inline ?? []).map((image) => [`cid:${image.cid}`, image])),
  });
  const html = await compileMjml(templates.mjml(view), templates.mjmlPath);
  const text = finishText(templates.text(view));
  const remote = view.sections.flatMap((section) =>
    section.articles.flatMap((article) =>
      article.image && !article.image.url.startsWith('cid:') ? [article.image.url] : [],
    ),
  );
  return {
    subject: view.subject,
    preheader: view.preheader,
    html: splitOnMarkers(compactHtml(html), markers.nonce, 'HTML'),
    text: splitOnMarkers(text, markers.nonce, 'text'),
    images: { policy: 'remote', inline: [], omitted: [], ...input.images, remote: [...new Set(remote)] },
  };
}
