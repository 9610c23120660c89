/**
 * Looks at decoded feed text before any parser does, and refuses what must not be parsed:
 * - entity declarations in a DOCTYPE (the "billion laughs" family expands a few hundred bytes into gigabytes), and
 *   DOCTYPEs are stripped otherwise: an external DTD is never fetched;
 * - HTML pages served where a feed was expected;
 * - empty documents.
 * It also removes what breaks strict parsers for no good reason (junk before the root, characters XML forbids) and
 * offers one round of repairs for the common real-world breakages (bare ampersands, a truncated last tag).
 */
import { AppError } from '../errors.js';

/** A screened document, ready for the parser. */
export type ScreenedDocument = { kind: 'json'; text: string } | { kind: 'xml'; text: string; rootName: string };

/** Screens decoded feed text; throws AppError `feed_rejected` with the reason when it must not be parsed. */
export function screenFeedDocument(decoded: string): ScreenedDocument {
  const text = removeForbiddenCharacters(decoded.replace(/^\uFEFF/, ''));
  const start = text.search(/\S/);
  if (start === -1) throw new AppError('feed_rejected', 'feed_rejected: empty document');
  const firstChar = text[start];
  if (firstChar === '{' || firstChar === '[') return { kind: 'json', text: text.slice(start) };

  const firstTag = text.indexOf('<');
  if (firstTag === -1) throw new AppError('feed_rejected', 'feed_rejected: not a feed (no XML or JSON found)');

  // Anything before the first tag (a blank line, a PHP notice) is junk that only stops strict parsers.
  let rest = text.slice(firstTag);
  refuseEntityDeclarations(rest);

  let rootName: string | undefined;
  for (;;) {
    const offset = rest.search(/\S/);
    if (offset === -1) break;
    rest = rest.slice(offset);
    if (rest.startsWith('<!--')) {
      const end = rest.indexOf('-->', 4);
      if (end === -1)
        throw new AppError(
          'feed_rejected',
          'feed_rejected: malformed XML (unterminated comment before the root element)',
        );
      rest = rest.slice(end + 3);
      continue;
    }
    if (rest.startsWith('<?')) {
      const end = rest.indexOf('?>', 2);
      if (end === -1)
        throw new AppError('feed_rejected', 'feed_rejected: malformed XML (unterminated processing instruction)');
      // The XML declaration's encoding was already honoured by the decoder; other PIs (stylesheets) are noise.
      rest = rest.slice(end + 2);
      continue;
    }
    if (/^<!DOCTYPE/i.test(rest)) {
      const end = doctypeEnd(rest);
      if (end === -1) throw new AppError('feed_rejected', 'feed_rejected: malformed XML (unterminated DOCTYPE)');
      // Only a DOCTYPE pointing at an external DTD gets here (entities were refused above); drop it, never fetch it.
      rest = rest.slice(end);
      continue;
    }
    const match = /^<([A-Za-z_][\w:.-]*)/.exec(rest);
    rootName = match?.[1];
    break;
  }
  if (!rootName) throw new AppError('feed_rejected', 'feed_rejected: not a feed (no root element)');
  const localName = rootName.replace(/^[^:]*:/, '').toLowerCase();
  if (localName === 'html' || localName === 'head' || localName === 'body' || localName === 'frameset') {
    throw new AppError('feed_rejected', 'feed_rejected: not a feed (looks like an HTML page)');
  }
  return { kind: 'xml', text: rest, rootName };
}

/**
 * Refuses any `<!ENTITY` declaration outside CDATA. Internal entities are the only way XML can expand itself
 * (billion laughs, quadratic blow-up); no feed needs them, so none is accepted.
 */
function refuseEntityDeclarations(text: string): void {
  const pattern = /<!ENTITY/gi;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(text)) !== null) {
    const cdataOpen = text.lastIndexOf('<![CDATA[', match.index);
    const cdataClose = cdataOpen === -1 ? -1 : text.indexOf(']]>', cdataOpen);
    const insideCdata = cdataOpen !== -1 && (cdataClose === -1 || cdataClose > match.index);
    if (!insideCdata) {
      throw new AppError(
        'feed_rejected',
        'feed_rejected: the feed declares entities in a DOCTYPE, which is refused (entity expansion attack risk)',
      );
    }
    pattern.lastIndex = cdataClose === -1 ? text.length : cdataClose;
  }
}

/** Index just past a DOCTYPE declaration starting at 0, honouring quotes and an internal subset; -1 if unterminated. */
function doctypeEnd(text: string): number {
  let quote: string | undefined;
  let depth = 0;
  for (let i = 9; i < text.length; i += 1) {
    const char = text[i];
    if (quote) {
      if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") {
      quote = char;
    } else if (char === '[') {
      depth += 1;
    } else if (char === ']') {
      depth = Math.max(0, depth - 1);
    } else if (char === '>' && depth === 0) {
      return i + 1;
    }
  }
  return -1;
}

/** Removes C0 controls (except tab, LF, CR), U+FFFE/U+FFFF and lone surrogates, none of which XML allows. */
function removeForbiddenCharacters(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex -- the characters XML 1.0 forbids are what this removes
    /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    '',
  );
}

/**
 * One round of repairs for XML a strict parser refuses but a reader would understand: bare `&` (not starting an
 * entity or character reference) becomes `&amp;` outside CDATA, and a truncated final closing tag (`</rss` at the
 * end of the file) is closed. Returns undefined when there was nothing to repair.
 */
export function repairXml(text: string): string | undefined {
  let changed = false;
  // Split into text and CDATA sections with indexOf (linear even with many unterminated CDATA openings).
  const pieces: string[] = [];
  let position = 0;
  while (position < text.length) {
    const open = text.indexOf('<![CDATA[', position);
    const textEnd = open === -1 ? text.length : open;
    const plain = text.slice(position, textEnd);
    const fixed = plain.replace(/&(?!(?:[A-Za-z][\w.-]{0,31}|#\d{1,7}|#x[0-9A-Fa-f]{1,6});)/g, '&amp;');
    if (fixed !== plain) changed = true;
    pieces.push(fixed);
    if (open === -1) break;
    const close = text.indexOf(']]>', open + 9);
    const cdataEnd = close === -1 ? text.length : close + 3;
    pieces.push(text.slice(open, cdataEnd));
    position = cdataEnd;
  }
  const repaired = pieces.join('');
  let result = repaired.trimEnd();
  if (/<\/[A-Za-z_][\w:.-]*\s*$/.test(result)) {
    result += '>';
    changed = true;
  }
  return changed ? result : undefined;
}
