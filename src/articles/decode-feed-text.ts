/**
 * Bytes → text for feeds. Order of authority, as XML (RFC 7303) and the web platform settle it:
 * 1. a byte order mark (UTF-8, UTF-16LE, UTF-16BE) — it cannot be there by accident;
 * 2. the charset of the HTTP Content-Type header, when the caller passes one;
 * 3. the XML declaration's `encoding`, or the BOM-less UTF-16 pattern of `<?xml`;
 * 4. sniffing: bytes that are valid UTF-8 are UTF-8 (JSON always is), anything else is windows-1252 (a superset
 *    of ISO-8859-1 that also maps the 0x80–0x9F "smart quotes" real feeds are full of).
 * Two real-world lies are corrected: a declared single-byte Western charset on bytes that are valid, non-ASCII
 * UTF-8 is read as UTF-8, and a declared UTF-8 on bytes that are not valid UTF-8 is read as windows-1252.
 * An unknown charset name falls through to the next rule instead of failing the feed.
 */
import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';

/** The decoded text and how it was decoded. */
export interface DecodedFeedText {
  text: string;
  /** Encoding actually used (lower case, iconv-lite name). */
  encoding: string;
  /** Which rule chose it. */
  decidedBy: 'bom' | 'http-charset' | 'xml-declaration' | 'utf16-pattern' | 'sniffed' | 'corrected';
}

const WESTERN_SINGLE_BYTE = new Set([
  'us-ascii',
  'ascii',
  'iso-8859-1',
  'iso8859-1',
  'latin1',
  'latin-1',
  'l1',
  'windows-1252',
  'cp1252',
  'iso-8859-15',
]);
const UTF8_NAMES = new Set(['utf-8', 'utf8', 'unicode-1-1-utf-8']);

/** Decodes feed bytes to a string following the order above; never throws on bad bytes (they become U+FFFD). */
export function decodeFeedText(bytes: Uint8Array, options: { charset?: string } = {}): DecodedFeedText {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  if (buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf) {
    return { text: new TextDecoder('utf-8').decode(buffer.subarray(3)), encoding: 'utf-8', decidedBy: 'bom' };
  }
  if (buffer[0] === 0xff && buffer[1] === 0xfe) {
    return {
      text: iconv.decode(buffer.subarray(2), 'utf-16le', { stripBOM: false }),
      encoding: 'utf-16le',
      decidedBy: 'bom',
    };
  }
  if (buffer[0] === 0xfe && buffer[1] === 0xff) {
    return {
      text: iconv.decode(buffer.subarray(2), 'utf-16be', { stripBOM: false }),
      encoding: 'utf-16be',
      decidedBy: 'bom',
    };
  }

  const httpCharset = normalizeCharset(options.charset);
  if (httpCharset) return decodeDeclared(buffer, httpCharset, 'http-charset');

  // "<?" in UTF-16 without a BOM.
  if (buffer[0] === 0x3c && buffer[1] === 0x00 && buffer[2] === 0x3f && buffer[3] === 0x00) {
    return { text: iconv.decode(buffer, 'utf-16le'), encoding: 'utf-16le', decidedBy: 'utf16-pattern' };
  }
  if (buffer[0] === 0x00 && buffer[1] === 0x3c && buffer[2] === 0x00 && buffer[3] === 0x3f) {
    return { text: iconv.decode(buffer, 'utf-16be'), encoding: 'utf-16be', decidedBy: 'utf16-pattern' };
  }

  const declared = normalizeCharset(readXmlDeclarationEncoding(buffer));
  if (declared) return decodeDeclared(buffer, declared, 'xml-declaration');

  if (isValidUtf8(buffer)) return { text: buffer.toString('utf8'), encoding: 'utf-8', decidedBy: 'sniffed' };
  return { text: iconv.decode(buffer, 'windows-1252'), encoding: 'windows-1252', decidedBy: 'sniffed' };
}

function decodeDeclared(buffer: Buffer, charset: string, decidedBy: DecodedFeedText['decidedBy']): DecodedFeedText {
  if (UTF8_NAMES.has(charset)) {
    if (isValidUtf8(buffer)) return { text: buffer.toString('utf8'), encoding: 'utf-8', decidedBy };
    return { text: iconv.decode(buffer, 'windows-1252'), encoding: 'windows-1252', decidedBy: 'corrected' };
  }
  if (WESTERN_SINGLE_BYTE.has(charset) && hasNonAscii(buffer) && isValidUtf8(buffer)) {
    return { text: buffer.toString('utf8'), encoding: 'utf-8', decidedBy: 'corrected' };
  }
  // ISO-8859-1 and US-ASCII labels mean windows-1252 on the web; the C1 range is otherwise unprintable.
  const effective = WESTERN_SINGLE_BYTE.has(charset) && charset !== 'iso-8859-15' ? 'windows-1252' : charset;
  if (effective === 'utf-16' || effective === 'utf16') {
    return { text: iconv.decode(buffer, 'utf-16le'), encoding: 'utf-16le', decidedBy };
  }
  return { text: iconv.decode(buffer, effective), encoding: effective, decidedBy };
}

/** Lower-cased charset name if iconv-lite knows it, else undefined (so the caller falls back). */
function normalizeCharset(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const name = value
    .trim()
    .replace(/^["']|["']$/g, '')
    .toLowerCase();
  if (!name || !/^[a-z0-9._:-]{1,40}$/.test(name)) return undefined;
  return iconv.encodingExists(name) ? name : undefined;
}

/** The `encoding="..."` of an XML declaration at the start of the document (ASCII-compatible encodings). */
function readXmlDeclarationEncoding(buffer: Buffer): string | undefined {
  const head = buffer.subarray(0, 1024).toString('latin1');
  const declaration = /^\s*<\?xml\s[^>]*?\?>/i.exec(head)?.[0];
  if (!declaration) return undefined;
  return /\sencoding\s*=\s*["']([^"']+)["']/i.exec(declaration)?.[1];
}

function hasNonAscii(buffer: Buffer): boolean {
  for (const byte of buffer) if (byte >= 0x80) return true;
  return false;
}

function isValidUtf8(buffer: Buffer): boolean {
  return isUtf8(buffer);
}

/**
 * Extracts the charset parameter from a Content-Type header value (`text/xml; charset="ISO-8859-1"` → `ISO-8859-1`).
 */
export function charsetFromContentType(contentType: string | null | undefined): string | undefined {
  if (!contentType) return undefined;
  const match = /;\s*charset\s*=\s*("?)([^";,\s]+)\1/i.exec(contentType);
  return match?.[2];
}
