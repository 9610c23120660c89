/** Plain text from feed HTML: titles, standfirsts, captions. No markup survives; entities are decoded. */
import sanitizeHtml from 'sanitize-html';

/** Block-level tags whose boundaries become spaces in plain text, so "<p>a</p><p>b</p>" reads "a b". */
const BLOCK_BOUNDARY =
  /<\/?(?:p|div|br|hr|li|ul|ol|h[1-6]|blockquote|pre|table|tr|td|th|section|article|header|footer|figure|figcaption|dd|dt|dl)\b[^<>]*>/gi;

/** Converts an HTML fragment to one line of plain text: tags removed, entities decoded, whitespace collapsed. */
export function htmlToText(html: string): string {
  const spaced = html.replace(BLOCK_BOUNDARY, ' $& ');
  const stripped = sanitizeHtml(spaced, {
    allowedTags: [],
    allowedAttributes: {},
    disallowedTagsMode: 'discard',
    nonTextTags: [
      'script',
      'style',
      'noscript',
      'template',
      'iframe',
      'object',
      'embed',
      'svg',
      'math',
      'head',
      'title',
      'textarea',
      'select',
      'option',
    ],
  });
  // sanitize-html decodes every entity and re-escapes only these, so undoing them yields the text itself.
  return collapseWhitespace(
    stripped
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&'),
  );
}

/** True when a string carries markup or character references, i.e. must be read as HTML rather than as text. */
export function looksLikeHtml(value: string): boolean {
  return /<\/?[a-z][a-z0-9]*(?:\s[^<>]*)?\/?>|&(?:[a-z][a-z0-9]{1,31}|#\d{1,7}|#x[0-9a-f]{1,6});/i.test(value);
}

/** Text for a field that may be plain text or HTML (RSS titles are often either). */
export function toPlainText(value: string): string {
  return looksLikeHtml(value) ? htmlToText(value) : collapseWhitespace(value);
}

/** Collapses runs of whitespace (including no-break spaces and line breaks) to single spaces and trims. */
export function collapseWhitespace(value: string): string {
  return value.replace(/[\s\u00a0\u200b\ufeff]+/g, ' ').trim();
}

/**
 * Shortens text to at most `max` characters, cutting at the last word boundary and adding an ellipsis. Text that
 * already fits is returned as it is.
 */
export function truncateAtWord(text: string, max: number): string {
  if (text.length <= max) return text;
  const room = Math.max(1, max - 1);
  const cut = text.slice(0, room + 1);
  const lastSpace = cut.lastIndexOf(' ');
  // With no space in a sensible range (a URL, a long compound) cut mid-word rather than keep almost nothing.
  let end = lastSpace >= room * 0.6 ? lastSpace : room;
  // Never split a surrogate pair (an emoji or a rare CJK character) in half.
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end).replace(/[\s,;:.\-–—]+$/u, '')}…`;
}
