/**
 * Small, exact MIME helpers for the pre-built digest message: header encoding and folding (RFC 5322, RFC 2047),
 * addresses (IDNA domains), dates, and quoted-printable segments (RFC 2045) that can be concatenated.
 */
import { encode as encodeQp, wrap as wrapQp } from 'libqp';
import addressparser from 'nodemailer/lib/addressparser';
import { encodeWord, encodeWords, foldLines, isPlainText, quoteString } from 'nodemailer/lib/mime-funcs';
import { AppError } from '../errors.js';
import { checkEmail } from '../subscribers/subscriber.js';

/** Line ending of every generated line. */
export const CRLF = '\r\n';
/** A quoted-printable soft line break: decodes to nothing. */
export const QP_SOFT_BREAK = '=\r\n';
/** Longest encoded body line (RFC 2045 6.7). */
const QP_LINE = 76;
/** Fold headers at this width (RFC 5322 recommends 78; 76 leaves room). */
const HEADER_LINE = 76;
/** The line length RFC 5322 §2.1.1 recommends. */
const RECOMMENDED_LINE = 78;
/** Longest line RFC 5322 allows anywhere. */
export const MAX_LINE_OCTETS = 998;

/** Characters that force a display name into a quoted-string. */
const SPECIALS = /[()<>[\]:;@\\,."]/;

/** Removes line breaks (header injection) and collapses whitespace. */
function singleLine(value: string): string {
  return value.replace(/\s+/g, ' ').trim();
}

/** Text a mail program would decode as an RFC 2047 encoded-word if it went out as it is. */
const ENCODED_WORD = /=\?[^?\s]+\?[bq]\?[^?\s]*\?=/i;

/**
 * Encodes free text for a header: as is when plain ASCII, else RFC 2047 Q encoded-words of at most 75 characters. A
 * text holding something shaped like an encoded-word (`=?UTF-8?B?...?=`) is encoded whole, so readers see it as
 * written rather than decoded into something else.
 */
export function encodeHeaderText(value: string): string {
  const text = singleLine(value);
  if (ENCODED_WORD.test(text)) return encodeWord(text, 'Q', 52);
  if (isPlainText(text)) return text;
  return encodeWords(text, 'Q', 52, true);
}

/** A display name as a phrase: atoms as they are, specials quoted, non-ASCII (or encoded-word look-alikes) encoded. */
export function encodeDisplayName(name: string): string {
  const text = singleLine(name);
  if (ENCODED_WORD.test(text)) return encodeWord(text, 'Q', 52);
  if (!isPlainText(text)) return encodeWords(text, 'Q', 52, true);
  return SPECIALS.test(text) ? quoteString(text) : text;
}

/** One complete header line (or folded lines), CRLF-terminated. Throws if a line would exceed 998 octets. */
export function headerLine(name: string, value: string): string {
  const folded = foldLines(`${name}: ${value}`, HEADER_LINE).replace(/\r?\n/g, CRLF);
  for (const line of folded.split(CRLF)) {
    if (Buffer.byteLength(line) > MAX_LINE_OCTETS) {
      throw new AppError('input_invalid', `header ${name} has a line over ${MAX_LINE_OCTETS} octets`);
    }
  }
  return `${folded}${CRLF}`;
}

/**
 * A header whose value is one token that cannot be cut (an address, a msg-id, a URL in angle brackets), on one line
 * when it fits in 78 characters, else folded after the colon (the only place its syntax allows), CRLF-terminated.
 */
export function tokenHeaderLine(name: string, value: string): string {
  return name.length + 2 + value.length <= RECOMMENDED_LINE
    ? `${name}: ${value}${CRLF}`
    : `${name}:${CRLF} ${value}${CRLF}`;
}

/**
 * An address as it may appear in a header and the SMTP envelope: the domain in IDNA (punycode) form, judged by the
 * subscribers' `checkEmail`. One that cannot be (a non-ASCII local part would need SMTPUTF8, which digests do not
 * use; a local part over 64 octets; a line break) is refused with `input_invalid` and the reason.
 */
export function asciiAddress(address: string): string {
  const checked = checkEmail(address);
  if (!checked.ok) throw new AppError('input_invalid', `the address cannot be written in a message: ${checked.reason}`);
  return checked.ascii;
}

/** Parses a configured mailbox (`"Name" <a@b>` or `a@b`) into a header value and its bare ASCII address. */
export function parseMailbox(value: string, field: string): { header: string; address: string } {
  const [first] = addressparser(value, { flatten: true });
  if (!first?.address) throw new AppError('config_invalid', `${field}: "${value}" is not a mailbox`);
  const address = asciiAddress(first.address);
  const header = first.name ? `${encodeDisplayName(first.name)} <${address}>` : address;
  return { header, address };
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

function pad2(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

/** RFC 5322 date-time in UTC: `Thu, 27 Nov 2025 08:30:00 +0000`. */
export function formatRfc5322Date(date: Date): string {
  return (
    `${DAYS[date.getUTCDay()]}, ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${pad2(date.getUTCHours())}:${pad2(date.getUTCMinutes())}:${pad2(date.getUTCSeconds())} +0000`
  );
}

/**
 * Quoted-printable for one segment of a body: line breaks become CRLF hard breaks, lines are wrapped at 76 with soft
 * breaks, and trailing whitespace is encoded. Each segment is encoded as if it started a line, so segments join with
 * a soft break (see `joinQpSegments`).
 */
export function encodeQpSegment(text: string): string {
  if (text === '') return '';
  return wrapQp(encodeQp(text.replace(/\r?\n/g, CRLF)), QP_LINE);
}

/**
 * Whether a soft line break is needed between two encoded segments: only when the first does not end a line and the
 * second does not start one (each segment assumes it starts at column 0).
 */
export function needsSoftBreak(before: string, after: string): boolean {
  return before !== '' && after !== '' && !before.endsWith(CRLF) && !after.startsWith(CRLF);
}
