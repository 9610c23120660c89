/**
 * Reading and comparing the audit's two rendered copies: each is parsed as a mail client would (mailparser), its
 * reader's own values replaced by placeholders, and then the copies are compared part by part. Headers and the text
 * part are checked here; the HTML part by `inspect-html.ts`.
 */
import { createHash } from 'node:crypto';
import { simpleParser } from 'mailparser';
import type { Finding, FindingPlace } from './finding.js';
import { inspectUrl } from './inspect-url.js';
import {
  describePersonalValue,
  OWN_LINK_PLACEHOLDERS,
  Placeholder,
  PLACEHOLDER_PATTERN,
  replacePersonalValues,
  type PersonalValues,
} from './personal-values.js';

/** One copy, decoded, with the reader's values replaced by placeholders. */
export interface ReadCopy {
  /** Top-level header lines, unfolded, in order; Date and Message-ID values replaced (they differ per message). */
  headers: string[];
  text: string;
  html: string;
  /** One line per attached part: content type, Content-ID, SHA-256 of the content. */
  attachments: string[];
}

/** Headers that differ per message by design. */
const PER_MESSAGE_HEADERS = new Set(['date', 'message-id']);

/** Parses a rendered copy and replaces its reader's values (see the module comment). */
export async function readCopy(raw: Buffer, values: PersonalValues): Promise<ReadCopy> {
  const parsed = await simpleParser(raw, {
    skipImageLinks: true,
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipTextLinks: true,
  });
  const headers = parsed.headerLines.map(({ key, line }) => {
    const unfolded = line.replace(/\r?\n[ \t]+/g, ' ');
    return PER_MESSAGE_HEADERS.has(key) ? `${unfolded.slice(0, unfolded.indexOf(':'))}: {per-message}` : unfolded;
  });
  const attachments = parsed.attachments.map(
    (part) => `${part.contentType} <${part.cid ?? ''}> ${createHash('sha256').update(part.content).digest('hex')}`,
  );
  const normalize = (text: string) => replacePersonalValues(text, values);
  return {
    headers: headers.map(normalize),
    text: normalize(parsed.text ?? ''),
    html: normalize(typeof parsed.html === 'string' ? parsed.html : ''),
    attachments: attachments.map(normalize),
  };
}

/** A short excerpt of each text around where they first differ. */
function excerptAtDifference(a: string, b: string): { a: string; b: string } {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  const cut = (text: string) =>
    `${start > 40 ? '…' : ''}${text.slice(Math.max(0, start - 40), start + 60).replace(/\s+/g, ' ')}…`;
  return { a: cut(a), b: cut(b) };
}

function difference(place: FindingPlace, what: string, a: string, b: string): Finding {
  const excerpt = excerptAtDifference(a, b);
  return {
    kind: 'reader-difference',
    place,
    detail: `${what} differs between two readers: “${excerpt.a}” against “${excerpt.b}”`,
  };
}

/** Every difference between two copies beyond the placeholders: per header, and per part. */
export function compareCopies(a: ReadCopy, b: ReadCopy): Finding[] {
  const findings: Finding[] = [];
  const lines = Math.max(a.headers.length, b.headers.length);
  for (let i = 0; i < lines; i += 1) {
    const lineA = a.headers[i] ?? '';
    const lineB = b.headers[i] ?? '';
    if (lineA === lineB) continue;
    const name = (lineA || lineB).slice(0, Math.max(0, (lineA || lineB).indexOf(':')));
    findings.push(difference('headers', `the ${name} header`, lineA, lineB));
  }
  if (a.text !== b.text) findings.push(difference('text', 'the text part', a.text, b.text));
  if (a.html !== b.html) findings.push(difference('html', 'the HTML part', a.html, b.html));
  const attachmentsA = a.attachments.join('\n');
  const attachmentsB = b.attachments.join('\n');
  if (attachmentsA !== attachmentsB) {
    findings.push(difference('attachments', 'the attached parts', attachmentsA, attachmentsB));
  }
  return findings;
}

/** Personal values in headers other than To (the address) and List-Unsubscribe (the unsubscribe link or token). */
export function inspectHeaders(headers: readonly string[]): Finding[] {
  const findings: Finding[] = [];
  for (const line of headers) {
    if (!PLACEHOLDER_PATTERN.test(line)) continue;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    let rest = line.slice(colon + 1);
    if (name.toLowerCase() === 'to') rest = rest.split(Placeholder.address).join('');
    if (name.toLowerCase() === 'list-unsubscribe') {
      rest = rest.split(Placeholder.unsubscribeUrl).join('').split(Placeholder.token).join('');
    }
    if (PLACEHOLDER_PATTERN.test(rest)) {
      findings.push({
        kind: 'personal-value',
        place: 'headers',
        detail: `${describePersonalValue(rest)} appears in the ${name} header`,
      });
    }
  }
  return findings;
}

/** The text part: personal values anywhere but the two personal links, and every link's checks. */
export function inspectText(text: string): Finding[] {
  const findings: Finding[] = [];
  for (const word of text.split(/\s+/)) {
    if (!PLACEHOLDER_PATTERN.test(word)) continue;
    const bare = word.replace(/^[<(["']+|[>)\]"'.,;:!?]+$/g, '');
    if (!OWN_LINK_PLACEHOLDERS.has(bare)) {
      findings.push({
        kind: 'personal-value',
        place: 'text',
        detail: `${describePersonalValue(word)} appears in the text part`,
      });
    }
  }
  for (const match of text.matchAll(/https?:\/\/[^\s<>"]+/gi)) {
    const url = match[0].replace(/[.,;:!?)\]]+$/, '');
    findings.push(...inspectUrl(url, 'a link in the text part', 'text', true));
  }
  return findings;
}
