/**
 * The HTML part, read with htmlparser2 as a mail client would: every element and attribute, including the markup
 * inside Outlook's conditional comments (`<!--[if mso]>…<![endif]-->`), which Outlook renders. It reports what loads
 * from the network when the email is opened, hidden and one-pixel images, link checks, and personal values outside
 * the two personal links.
 */
import type { ChildNode, Element } from 'domhandler';
import { parseDocument } from 'htmlparser2';
import type { Finding } from './finding.js';
import { inspectCss, readDeclarations } from './inspect-css.js';
import { inspectUrl, isRemoteUrl } from './inspect-url.js';
import { describePersonalValue, OWN_LINK_PLACEHOLDERS, PLACEHOLDER_PATTERN } from './personal-values.js';

/** What the HTML check needs besides the HTML. */
export interface InspectHtmlOptions {
  /** Article images the newsletter's `remote` policy shows by URL; any other remote image is a `remote-image`. */
  policyRemoteImages: ReadonlySet<string>;
}

/** Elements that are remote or active content whatever their attributes. */
const ACTIVE_ELEMENTS = new Set(['script', 'iframe', 'frame', 'object', 'embed', 'applet', 'audio', 'video', 'portal']);
/** Attributes that make a client fetch an image. */
const IMAGE_ATTRIBUTES = new Set(['src', 'srcset', 'background', 'poster', 'lowsrc', 'dynsrc', 'imagesrcset']);
/** Attributes that make a client fetch something else. */
const OTHER_RESOURCE_ATTRIBUTES = new Set(['data', 'codebase', 'archive', 'ping', 'manifest', 'xlink:href']);
/** SVG elements whose `href` loads a resource. */
const SVG_RESOURCE_ELEMENTS = new Set(['image', 'use', 'feimage']);
/** Elements whose `src` is not an image. */
const NON_IMAGE_SOURCES = new Set(['script', 'iframe', 'frame', 'embed', 'audio', 'video', 'track', 'portal']);
/** Elements whose `href` is a link a reader clicks (VML shapes in Outlook markup included). */
const LINK_ELEMENTS = new Set(['a', 'area']);

function attributeUrls(name: string, value: string): string[] {
  if (name === 'srcset' || name === 'imagesrcset') {
    return value
      .split(',')
      .map((candidate) => candidate.trim().split(/\s+/)[0] ?? '')
      .filter((url) => url !== '');
  }
  return [value];
}

function isPixelSize(value: string | undefined): boolean {
  if (value === undefined) return false;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*$/i.exec(value);
  return match !== null && Number(match[1]) <= 1;
}

/** Whether an element's own attributes hide it or shrink it to a pixel (display, visibility, opacity, size). */
function isHiddenOrPixel(element: Element): boolean {
  const { attribs } = element;
  if ('hidden' in attribs) return true;
  if (isPixelSize(attribs.width) || isPixelSize(attribs.height)) return true;
  if (!attribs.style || !/display|visibility|opacity|width|height|\\/i.test(attribs.style)) return false;
  const style = readDeclarations(attribs.style);
  if (style.get('display') === 'none') return true;
  if (style.get('visibility') === 'hidden' || style.get('visibility') === 'collapse') return true;
  if (/^0*(?:\.0*)?%?$/.test(style.get('opacity') ?? 'x')) return true;
  return ['width', 'height', 'max-width', 'max-height'].some((property) => isPixelSize(style.get(property)));
}

/** The markup Outlook renders inside a conditional comment, or undefined for an ordinary comment. */
function conditionalMarkup(comment: string): string | undefined {
  const match = /^\s*\[if[^\]]*\]>([\s\S]*?)(?:<!\[endif\]\s*)?$/i.exec(comment);
  return match?.[1];
}

/** Inspects a digest's HTML (already holding placeholders for the reader's values). */
export function inspectHtml(html: string, options: InspectHtmlOptions): Finding[] {
  const findings: Finding[] = [];
  const walk = (nodes: readonly ChildNode[], isInsideHidden: boolean) => {
    for (const node of nodes) {
      if (node.type === 'comment') {
        const markup = conditionalMarkup(node.data);
        if (markup !== undefined) walk(parseDocument(markup).children, isInsideHidden);
        else if (PLACEHOLDER_PATTERN.test(node.data)) {
          findings.push(personal(node.data, 'an HTML comment'));
        }
      } else if (node.type === 'text') {
        if (PLACEHOLDER_PATTERN.test(node.data)) findings.push(personal(node.data, 'the text'));
      } else if (node.type === 'tag' || node.type === 'script' || node.type === 'style') {
        const element = node as Element;
        const isHidden = isInsideHidden || isHiddenOrPixel(element);
        inspectElement(element, isHidden, options, findings);
        walk(element.children, isHidden);
      }
    }
  };
  walk(parseDocument(html, { lowerCaseAttributeNames: true }).children, false);
  return findings;
}

function personal(text: string, where: string): Finding {
  return { kind: 'personal-value', place: 'html', detail: `${describePersonalValue(text)} appears in ${where}` };
}

function textOf(element: Element): string {
  return element.children.map((child) => ('data' in child ? child.data : '')).join('');
}

function inspectElement(element: Element, isHidden: boolean, options: InspectHtmlOptions, findings: Finding[]): void {
  const tag = element.name.toLowerCase();
  const { attribs } = element;
  if (ACTIVE_ELEMENTS.has(tag)) {
    findings.push({ kind: 'remote-content', place: 'html', detail: `a <${tag}> element` });
  }
  if (tag === 'style') findings.push(...inspectCss(textOf(element), '<style>', 'html', false));
  if (tag === 'base' && attribs.href) findings.push({ kind: 'remote-content', place: 'html', detail: '<base href>' });
  if (tag === 'meta' && /refresh/i.test(attribs['http-equiv'] ?? '')) {
    findings.push({ kind: 'remote-content', place: 'html', detail: '<meta http-equiv="refresh">' });
  }
  if (tag === 'link' && attribs.href) inspectLinkElement(attribs, findings);
  if ((tag === 'img' || (tag === 'input' && attribs.type === 'image')) && isHidden) {
    const source = attribs.src ?? '(no source)';
    findings.push({
      kind: 'hidden-image',
      place: 'html',
      detail: `<${tag}> is hidden or one pixel in size (${source})`,
    });
  }
  for (const [name, value] of Object.entries(attribs)) {
    const where = `<${tag} ${name}>`;
    if (
      PLACEHOLDER_PATTERN.test(value) &&
      !(name === 'href' && LINK_ELEMENTS.has(tag) && OWN_LINK_PLACEHOLDERS.has(value.trim()))
    ) {
      findings.push(personal(value, where));
    }
    if (name === 'style') findings.push(...inspectCss(value, where, 'html', true));
    else if (name === 'href' && (LINK_ELEMENTS.has(tag) || tag.startsWith('v:'))) {
      findings.push(...inspectUrl(value, where, 'html', true));
    } else if (
      IMAGE_ATTRIBUTES.has(name) ||
      OTHER_RESOURCE_ATTRIBUTES.has(name) ||
      (name === 'href' && SVG_RESOURCE_ELEMENTS.has(tag))
    ) {
      for (const url of attributeUrls(name, value)) inspectResource(tag, name, url, isHidden, options, findings);
    }
  }
}

function inspectLinkElement(attribs: Record<string, string>, findings: Finding[]): void {
  const href = attribs.href ?? '';
  if (!isRemoteUrl(href)) return;
  const rel = (attribs.rel ?? '').toLowerCase();
  const isStylesheet = rel.split(/\s+/).includes('stylesheet');
  const isFont = /fonts?\.|typekit|fontawesome|typography/i.test(href) || attribs.as === 'font';
  const kind = isFont ? 'remote-font' : isStylesheet ? 'remote-css' : 'remote-content';
  findings.push({ kind, place: 'html', detail: `<link rel="${rel}"> loads ${href}`, url: href });
  findings.push(...inspectUrl(href, `<link rel="${rel}">`, 'html', false));
}

function inspectResource(
  tag: string,
  name: string,
  url: string,
  isHidden: boolean,
  options: InspectHtmlOptions,
  findings: Finding[],
): void {
  const where = `<${tag} ${name}>`;
  if (!isRemoteUrl(url)) return;
  const isImage = IMAGE_ATTRIBUTES.has(name) && !(name === 'src' && NON_IMAGE_SOURCES.has(tag));
  const isPolicyImage = tag === 'img' && name === 'src' && !isHidden && options.policyRemoteImages.has(url.trim());
  const urlFindings = inspectUrl(url, where, 'html', false);
  if (isPolicyImage && urlFindings.length === 0) {
    findings.push({
      kind: 'policy-remote-image',
      place: 'html',
      detail: `${where} loads the article image ${url}`,
      url,
    });
    return;
  }
  const kind = isImage ? 'remote-image' : 'remote-content';
  findings.push({ kind, place: 'html', detail: `${where} loads ${url}`, url }, ...urlFindings);
}
