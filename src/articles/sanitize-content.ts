/**
 * Article HTML sanitizer: an allowlist (sanitize-html) plus the tracking removal the no-tracking pledge needs.
 * Whatever a feed or a CMS sends, the stored `contentHtml` holds only simple, inert, absolute-URL markup:
 * no script, style, iframe, object, embed, form or meta; no event handlers or style attributes; only http, https and
 * mailto links; no 1×1 pixels, analytics beacons or feed-ad blocks; every remaining link passed through `cleanLink`.
 */
import sanitizeHtml from 'sanitize-html';
import { cleanLink } from './clean-link.js';

/** Tags kept in article HTML; everything else is removed (its text kept, except for the tags in `DROPPED_WITH_CONTENT`). */
export const ALLOWED_TAGS: readonly string[] = [
  'p',
  'a',
  'em',
  'strong',
  'b',
  'i',
  'ul',
  'ol',
  'li',
  'blockquote',
  'h2',
  'h3',
  'h4',
  'img',
  'figure',
  'figcaption',
  'br',
  'hr',
  'pre',
  'code',
  'table',
  'thead',
  'tbody',
  'tfoot',
  'tr',
  'th',
  'td',
  'caption',
];

/** Elements removed together with everything inside them (their text is code, chrome or a fallback, not article). */
const DROPPED_WITH_CONTENT = [
  'script',
  'style',
  'noscript',
  'template',
  'iframe',
  'object',
  'embed',
  'applet',
  'frame',
  'frameset',
  'form',
  'button',
  'select',
  'option',
  'textarea',
  'input',
  'svg',
  'math',
  'head',
  'title',
  'meta',
  'link',
  'base',
  'audio',
  'video',
  'canvas',
  'map',
  'xml',
];

/**
 * Hosts and paths of known tracking beacons and feed-ad blocks. An image whose source matches is removed; a link
 * whose target matches is removed with its content (FeedBurner "flares", WordPress share buttons, ad servers).
 */
export const TRACKING_RESOURCE_PATTERNS: readonly RegExp[] = [
  // FeedBurner: per-item open pixel (~r/.../~4/...), FeedFlare ads and share buttons (~ff/), ad slots (~a/, ~at/).
  /^https?:\/\/feeds\d*\.feedburner\.com\/~(?:r|ff|a|at)\//i,
  /^https?:\/\/feedproxy\.google\.com\/~(?:ff|a|at)\//i,
  /^https?:\/\/feedads\.g\.doubleclick\.net\//i,
  // WordPress.com / Jetpack stats pixel and the RSS share/comment buttons.
  /^https?:\/\/stats\.wordpress\.com\//i,
  /^https?:\/\/pixel\.wp\.com\//i,
  /^https?:\/\/feeds\.wordpress\.com\/1\.0\//i,
  // Google, DoubleClick, Facebook, Twitter, LinkedIn, Pinterest, Quantcast, comScore, Chartbeat, Parse.ly beacons.
  /^https?:\/\/(?:[a-z0-9-]+\.)*doubleclick\.net\//i,
  /^https?:\/\/(?:[a-z0-9-]+\.)*google-analytics\.com\//i,
  /^https?:\/\/(?:[a-z0-9-]+\.)*googletagmanager\.com\//i,
  /^https?:\/\/(?:[a-z0-9-]+\.)*googlesyndication\.com\//i,
  /^https?:\/\/(?:www\.)?facebook\.com\/tr\/?(?:[?#]|$)/i,
  /^https?:\/\/analytics\.twitter\.com\//i,
  /^https?:\/\/t\.co\/i\/adsct/i,
  /^https?:\/\/px\.ads\.linkedin\.com\//i,
  /^https?:\/\/ct\.pinterest\.com\//i,
  /^https?:\/\/pixel\.quantserve\.com\//i,
  /^https?:\/\/(?:[a-z0-9-]+\.)*scorecardresearch\.com\//i,
  /^https?:\/\/ping\.chartbeat\.net\//i,
  /^https?:\/\/(?:[a-z0-9-]+\.)*parsely\.com\/px/i,
  // Feed and newsletter platforms.
  /^https?:\/\/pi\.feedsportal\.com\//i,
  /^https?:\/\/da\.feedsportal\.com\//i,
  /^https?:\/\/(?:www\.)?medium\.com\/_\/stat/i,
  /^https?:\/\/mc\.us\d+\.list-manage\.com\/track\//i,
  /^https?:\/\/(?:[a-z0-9-]+\.)*list-manage\.com\/track\/open/i,
  /^https?:\/\/(?:[a-z0-9-]+\.)*sendgrid\.net\/wf\/open/i,
  /^https?:\/\/(?:[a-z0-9-]+\.)*mandrillapp\.com\/track\/open/i,
  /^https?:\/\/(?:[a-z0-9-]+\.)*substack\.com\/o\/open/i,
  /^https?:\/\/(?:[a-z0-9-]+\.)*(?:ads|adserver|tracking|beacon|pixel)\.[a-z0-9.-]+\/(?:[a-z0-9_/-]*\/)?(?:pixel|open|beacon|track|imp)\b/i,
  /^https?:\/\/rss\.buysellads\.com\//i,
  /^https?:\/\/ads\.pheedo\.com\//i,
  /^https?:\/\/a\.rfihub\.com\//i,
  /^https?:\/\/res\.feedsportal\.com\/social\//i,
];

/** True when a URL points at a known tracking beacon or feed-ad resource. */
export function isTrackingResource(url: string): boolean {
  return TRACKING_RESOURCE_PATTERNS.some((pattern) => pattern.test(url));
}

/** Options for {@link sanitizeContent}. */
export interface SanitizeContentOptions {
  /** Keep at most this many characters of input HTML (a runaway item must not stall ingest). @defaultValue 2_000_000 */
  maxInputChars?: number;
}

/**
 * Sanitizes article HTML: allowlisted tags and attributes, absolute http(s)/mailto URLs resolved against `baseUrl`,
 * tracking pixels, beacons and feed-ad links removed, every link cleaned of tracking parameters.
 */
export function sanitizeContent(
  html: string,
  baseUrl: string | undefined,
  options: SanitizeContentOptions = {},
): string {
  // Broken markup (a <p> left open inside another) can come out of one pass as something a parser reads differently
  // the second time; passes repeat until the output is a fixed point, so what we store is what every reader parses.
  let output = sanitizeOnce(html, baseUrl, options);
  for (let pass = 0; pass < 3; pass += 1) {
    const again = sanitizeOnce(output, baseUrl, options);
    if (again === output) break;
    output = again;
  }
  return output;
}

/** One pass of the allowlist sanitizer. */
function sanitizeOnce(html: string, baseUrl: string | undefined, options: SanitizeContentOptions): string {
  const maxInputChars = options.maxInputChars ?? 2_000_000;
  const input = html.length > maxInputChars ? html.slice(0, maxInputChars) : html;
  const output = sanitizeHtml(input, {
    allowedTags: [...ALLOWED_TAGS],
    allowedAttributes: {
      a: ['href', 'title'],
      img: ['src', 'alt', 'width', 'height'],
      td: ['colspan', 'rowspan'],
      th: ['colspan', 'rowspan', 'scope'],
      ol: ['start'],
    },
    allowedSchemes: ['http', 'https', 'mailto'],
    allowedSchemesByTag: { img: ['http', 'https'] },
    allowedSchemesAppliedToAttributes: ['href', 'src'],
    allowProtocolRelative: false,
    disallowedTagsMode: 'discard',
    nonTextTags: DROPPED_WITH_CONTENT,
    // Deeply nested markup is either broken or hostile; past this depth tags are dropped and text kept.
    nestingLimit: 100,
    parser: { lowerCaseTags: true, lowerCaseAttributeNames: true, decodeEntities: true },
    transformTags: {
      h1: 'h2',
      h5: 'h4',
      h6: 'h4',
      a: (tagName, attribs) => {
        const href = absoluteLink(attribs.href, baseUrl, ['http:', 'https:', 'mailto:']);
        const kept: Record<string, string> = {};
        if (href) kept.href = href;
        if (attribs.title) kept.title = attribs.title;
        return { tagName, attribs: kept };
      },
      img: (tagName, attribs) => {
        // Lazy-loading markup: the real image is in data-src and src holds a placeholder (often a 1×1 GIF).
        const lazy = attribs['data-src'] ?? attribs['data-lazy-src'] ?? attribs['data-original'];
        const rawSource = lazy && (!attribs.src || attribs.src.startsWith('data:')) ? lazy : attribs.src;
        const src = absoluteLink(rawSource, baseUrl, ['http:', 'https:']);
        const kept: Record<string, string> = {};
        if (src) kept.src = src;
        if (attribs.alt) kept.alt = attribs.alt;
        const width = pixelSize(attribs.width);
        const height = pixelSize(attribs.height);
        if (width !== undefined) kept.width = String(width);
        if (height !== undefined) kept.height = String(height);
        // A pixel hidden or shrunk by CSS is a pixel all the same; style itself never survives.
        if (isHiddenByStyle(attribs.style)) kept.width = '0';
        return { tagName, attribs: kept };
      },
    },
    exclusiveFilter: (frame) => {
      if (frame.tag === 'img') {
        const src = frame.attribs.src;
        if (!src) return true;
        if (isTrackingResource(src)) return true;
        const width = pixelSize(frame.attribs.width);
        const height = pixelSize(frame.attribs.height);
        return (width !== undefined && width <= 1) || (height !== undefined && height <= 1);
      }
      if (frame.tag === 'a') {
        const href = frame.attribs.href;
        if (href && isTrackingResource(href)) return true;
        // A link left with nothing in it (its pixel or icon was removed) would be an invisible click target.
        return frame.text.trim() === '' && frame.mediaChildren.length === 0;
      }
      if (frame.tag === 'p' || frame.tag === 'figure' || frame.tag === 'li') {
        return frame.text.trim() === '' && frame.mediaChildren.length === 0;
      }
      return false;
    },
  });
  return output.replace(/(?:<br \/>\s*){3,}/g, '<br /><br />').trim();
}

/** Resolves a possibly relative link against the base, keeps only the given schemes, and cleans tracking from it. */
export function absoluteLink(
  value: string | undefined,
  baseUrl: string | undefined,
  schemes: readonly string[] = ['http:', 'https:'],
): string | undefined {
  if (!value) return undefined;
  // eslint-disable-next-line no-control-regex -- browsers strip exactly these control characters around a URL
  const trimmed = value.replace(/^[\u0000-\u0020\u007f]+|[\u0000-\u0020\u007f]+$/g, '');
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  let resolved: URL;
  try {
    // The WHATWG parser drops tabs and newlines inside the scheme ("java\tscript:") exactly as browsers do, so the
    // protocol check below sees what a mail client would see.
    resolved = baseUrl ? new URL(trimmed, baseUrl) : new URL(trimmed);
  } catch {
    return undefined;
  }
  if (!schemes.includes(resolved.protocol)) return undefined;
  if (resolved.protocol === 'mailto:') return resolved.href;
  return cleanLink(resolved.href);
}

function pixelSize(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*$/i.exec(value);
  return match?.[1] !== undefined ? Math.round(Number(match[1])) : undefined;
}

function isHiddenByStyle(style: string | undefined): boolean {
  if (!style) return false;
  const css = style.toLowerCase().replace(/\s+/g, '');
  return (
    /display:none|visibility:hidden|opacity:0(?:[;!]|$)/.test(css) ||
    /(?:^|;)(?:max-)?width:[01](?:\.\d+)?(?:px)?(?:[;!]|$)/.test(css) ||
    /(?:^|;)(?:max-)?height:[01](?:\.\d+)?(?:px)?(?:[;!]|$)/.test(css)
  );
}
