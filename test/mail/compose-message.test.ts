import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { decode as decodeQp, encode as encodeQp, wrap as wrapQp } from 'libqp';
import { simpleParser, type ParsedMail } from 'mailparser';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  digestBoundary,
  digestMessageId,
  prepareDigestMessage,
  type DigestMessageTemplate,
  type PrepareDigestMessageInput,
} from '../../src/mail/compose-message.js';
import type { DigestBody, SlottedText } from '../../src/digests/digest.js';
import { escapeHtml, fillSlots } from '../../src/digests/fill-slots.js';
import { renderDigestPreview } from '../../src/mail/preview-digest.js';
import { renderDigest } from '../../src/digests/render-digest.js';
import { flattenSections, selectArticles } from '../../src/digests/select-articles.js';
import { isAppError } from '../../src/errors.js';
import { createToken, subscriberLinks, verifyToken } from '../../src/subscribers/tokens.js';
import {
  anchor,
  makeArticle,
  sampleArticles,
  sampleNewsletter,
  sampleSite,
  TEST_SECRET,
} from '../digests/sample-articles.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const mimeLint = path.join(path.resolve(repoRoot, '../shared'), 'tools/mailcheck/mime-lint.py');

const DIGEST = { id: 'daily-20251127-060000-k3x9', newsletterId: 'daily' };
const NOW = new Date('2025-11-27T06:00:00Z');
const newsletter = sampleNewsletter({
  name: 'Le Café du Port — Édition du matin',
  replyTo: 'Zoë at the desk <desk@harbourgazette.example>',
});
const site = sampleSite();

let body: DigestBody;
let input: PrepareDigestMessageInput;
let template: DigestMessageTemplate;
const scratch: string[] = [];

beforeAll(async () => {
  const articles = flattenSections(selectArticles(sampleArticles(), newsletter, undefined));
  body = await renderDigest({ newsletter, site, articles, issueDate: NOW });
  input = { digest: DIGEST, body, newsletter, site, secret: TEST_SECRET };
  template = prepareDigestMessage(input);
});

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function linksOf(id: number) {
  return subscriberLinks(site, TEST_SECRET, { subscriberId: id, newsletterId: 'daily' });
}

function headerBlock(raw: Buffer): string {
  const text = raw.toString('latin1');
  return text.slice(0, text.indexOf('\r\n\r\n') + 2);
}

/** Every header line within 78 characters, but for a continuation line holding one token that cannot be cut. */
function expectHeadersFolded(raw: Buffer): void {
  for (const line of headerBlock(raw).split('\r\n')) {
    if (!/^ \S+$/.test(line)) expect(line.length, line).toBeLessThanOrEqual(78);
  }
}

/** The message with its header block unfolded (the body left as it is), as lines. */
function unfoldedLines(raw: Buffer): string[] {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  return (text.slice(0, end).replace(/\r\n(?=[ \t])/g, '') + text.slice(end)).split('\r\n');
}

function headerNames(raw: Buffer): string[] {
  return headerBlock(raw)
    .split('\r\n')
    .filter((line) => /^[A-Za-z-]+:/.test(line))
    .map((line) => line.slice(0, line.indexOf(':')));
}

/** The decoded bodies of the two parts, read straight from the raw bytes. */
function decodeParts(raw: Buffer, boundary: string): { text: string; html: string } {
  const source = raw.toString('latin1');
  const parts = source.split(`\r\n--${boundary}`);
  const bodies = parts.slice(1, 3).map((part) => {
    const start = part.indexOf('\r\n\r\n') + 4;
    return decodeQp(part.slice(start)).toString('utf8');
  });
  return { text: bodies[0] ?? '', html: bodies[1] ?? '' };
}

/** Longest common subsequence diff: the lines of `a` and of `b` that are not common. */
function diffLines(a: string[], b: string[]): { onlyA: string[]; onlyB: string[] } {
  const n = a.length;
  const m = b.length;
  const table = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i -= 1) {
    for (let j = m - 1; j >= 0; j -= 1) {
      table[i]![j] = a[i] === b[j] ? table[i + 1]![j + 1]! + 1 : Math.max(table[i + 1]![j]!, table[i]![j + 1]!);
    }
  }
  const onlyA: string[] = [];
  const onlyB: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      i += 1;
      j += 1;
    } else if (table[i + 1]![j]! >= table[i]![j + 1]!) {
      onlyA.push(a[i++]!);
    } else {
      onlyB.push(b[j++]!);
    }
  }
  return { onlyA: [...onlyA, ...a.slice(i)], onlyB: [...onlyB, ...b.slice(j)] };
}

describe('a reader’s copy of a digest', () => {
  let parsed: ParsedMail;
  let raw: Buffer;

  beforeAll(async () => {
    raw = template.render({ id: 42, email: 'reader@example.org' }, NOW).raw;
    parsed = await simpleParser(raw);
  });

  it('parses as multipart/alternative with a text and an HTML part, both carrying the reader’s own links', () => {
    const links = linksOf(42);
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(parsed.text).toContain(`Unsubscribe (one click):\n${links.unsubscribeUrl}`);
    expect(parsed.text).toContain(links.preferencesUrl);
    expect(parsed.html).toMatch(anchor(links.unsubscribeUrl, 'Unsubscribe'));
    expect(parsed.html).toMatch(anchor(links.preferencesUrl, 'Manage your preferences'));
    expect(parsed.text).toContain('Café owners & bakers say "no" to late licences');
    expect(parsed.html).toContain('By Zoë Ångström and Ben Okafor');
    expect(parsed.text).toBe(fillSlots(body.text, links).replace(/\n$/, ''));
  });

  it('has exactly the headers a list message needs and nothing that identifies the reader beyond them', () => {
    expect(headerNames(raw)).toEqual([
      'From',
      'Reply-To',
      'To',
      'Subject',
      'Date',
      'Message-ID',
      'MIME-Version',
      'List-Id',
      'List-Unsubscribe',
      'List-Unsubscribe-Post',
      'Feedback-ID',
      'Content-Type',
    ]);
    const afterHeaders = raw.toString('latin1').slice(headerBlock(raw).length);
    expect(afterHeaders.match(/^Content-[A-Za-z-]+:/gm)).toEqual([
      'Content-Type:',
      'Content-Transfer-Encoding:',
      'Content-Type:',
      'Content-Transfer-Encoding:',
    ]);
    expect(parsed.subject).toBe(
      'Le Café du Port — Édition du matin: Harbour wall to be rebuilt after winter storms, and 7 more',
    );
    expect(parsed.from?.value).toEqual([{ name: 'The Harbour Gazette', address: 'newsletter@harbourgazette.example' }]);
    expect(parsed.replyTo?.value).toEqual([{ name: 'Zoë at the desk', address: 'desk@harbourgazette.example' }]);
    expect(parsed.to).toMatchObject({ value: [{ address: 'reader@example.org' }] });
    expect(parsed.date?.toISOString()).toBe(NOW.toISOString());
    expect(headerBlock(raw)).toContain('Date: Thu, 27 Nov 2025 06:00:00 +0000\r\n');
  });

  it('offers RFC 8058 one-click unsubscribe and an RFC 2919 list id', () => {
    const list = parsed.headers.get('list') as Record<string, Record<string, string>>;
    expect(list.unsubscribe?.url).toBe(linksOf(42).unsubscribeUrl);
    expect(list['unsubscribe-post']?.name).toBe('List-Unsubscribe=One-Click');
    expect(list.id?.id).toBe('daily.news.harbourgazette.example');
    expect(headerBlock(raw)).toContain(`List-Unsubscribe:\r\n <${linksOf(42).unsubscribeUrl}>\r\n`);
    // Gmail's feedback loop: the newsletter and the sender, the same for every reader.
    expect(headerBlock(raw)).toContain('Feedback-ID: daily:news.harbourgazette.example\r\n');
  });

  it('offers a mailto: beside the https link when the site names an unsubscribe mailbox, with the same token', async () => {
    const withMailbox = prepareDigestMessage({
      ...input,
      site: { ...site, unsubscribeMailbox: 'unsubscribe@harbourgazette.example' },
    });
    const copy = withMailbox.render({ id: 42, email: 'reader@example.org' }, NOW).raw;
    const token = linksOf(42).unsubscribeUrl.split('/').pop();
    expect(headerBlock(copy)).toContain(
      `List-Unsubscribe:\r\n <${linksOf(42).unsubscribeUrl}>,\r\n` +
        ` <mailto:unsubscribe@harbourgazette.example?subject=unsubscribe%20${token}>\r\n`,
    );
    expectHeadersFolded(copy);
    const list = (await simpleParser(copy)).headers.get('list') as Record<string, Record<string, string>>;
    expect(list.unsubscribe).toMatchObject({
      url: linksOf(42).unsubscribeUrl,
      mail: `unsubscribe@harbourgazette.example?subject=unsubscribe%20${token}`,
    });
  });

  it('is 7-bit with CRLF line ends, no line over 998 octets, encoded body lines within 76', () => {
    expect(raw.every((byte) => byte < 128)).toBe(true);
    const text = raw.toString('latin1');
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    const lines = text.split('\r\n');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(998);
    const bodyLines = text.slice(text.indexOf('\r\n\r\n')).split('\r\n');
    for (const line of bodyLines) expect(line.length, line).toBeLessThanOrEqual(76);
    expectHeadersFolded(raw);
  });

  it('folds every header line to 78 where the syntax allows: a long address, Message-ID or link gets a line of its own', async () => {
    const long = { id: 7, email: `${'a'.repeat(64)}@${'newsroom-readers.'.repeat(5)}example` };
    const longSite = sampleSite({
      mailDomain: 'mail.harbour-gazette-newsroom.example',
      baseUrl: `${site.baseUrl}/newsletters/letters`,
    });
    const message = prepareDigestMessage({ ...input, site: longSite }).render(long, NOW);
    const block = headerBlock(message.raw);
    expect(block).toContain(`\r\nTo:\r\n ${long.email}\r\n`);
    expect(block).toMatch(/\r\nMessage-ID:\r\n <[^\s]+>\r\n/);
    expect(block).toMatch(/\r\nList-Unsubscribe:\r\n <https:\/\/[^\s]+>\r\n/);
    expectHeadersFolded(message.raw);
    const parsed = await simpleParser(message.raw);
    expect(parsed.to).toMatchObject({ value: [{ address: long.email }] });
    expect(parsed.messageId).toMatch(/@mail\.harbour-gazette-newsroom\.example>$/);
    const list = parsed.headers.get('list') as Record<string, Record<string, string>>;
    expect(list.unsubscribe?.url).toMatch(
      /^https:\/\/news\.harbourgazette\.example\/newsletters\/letters\/unsubscribe\//,
    );
  });

  it('keeps the same Message-ID on every retry, a different one per reader, without showing the reader’s id', () => {
    const again = template.render({ id: 42, email: 'reader@example.org' }, new Date(NOW.getTime() + 60_000));
    const other = template.render({ id: 43, email: 'other@example.org' }, NOW);
    expect(again.messageId).toBe(parsed.messageId);
    expect(other.messageId).not.toBe(parsed.messageId);
    expect(parsed.messageId).toMatch(/^<daily-20251127-060000-k3x9\.[0-9a-f]{24}@news\.harbourgazette\.example>$/);
    expect(parsed.messageId).toBe(digestMessageId(TEST_SECRET, DIGEST.id, 42, site.mailDomain));
    expect(parsed.messageId).not.toMatch(/\b42\b/);
    expect(template.render({ id: 42, email: 'reader@example.org' }, NOW).raw.equals(raw)).toBe(true);
  });

  it('passes the offline MIME linter', (context) => {
    const python = spawnSync('python3', ['--version']);
    if (python.status !== 0 || !existsSync(mimeLint)) {
      context.skip(`python3 or ${mimeLint} is not available; MIME lint skipped`);
      return;
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'lp-compose-'));
    scratch.push(dir);
    const file = path.join(dir, 'message.eml');
    writeFileSync(file, raw);
    const lint = spawnSync('python3', [mimeLint, file], { encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toContain('no MIME/RFC 5322 defects found');
    expect(lint.status).toBe(0);
  });
});

describe('privacy: two readers’ copies', () => {
  it('differ only in To, Date, Message-ID, List-Unsubscribe and the lines carrying each reader’s token', async () => {
    const first = template.render({ id: 1234, email: 'ada@example.org' }, NOW);
    const second = template.render(
      { id: 9876543, email: 'grace.hopper@example.net' },
      new Date(NOW.getTime() + 3_600_000),
    );
    const tokenOf = (url: string) => url.slice(url.lastIndexOf('/') + 1);
    const valuesOf = (id: number) => {
      const links = linksOf(id);
      return [links.unsubscribeUrl, links.preferencesUrl].map((url) => wrapQp(encodeQp(url), 76));
    };
    const { onlyA, onlyB } = diffLines(unfoldedLines(first.raw), unfoldedLines(second.raw));
    expect(onlyA.length).toBeGreaterThan(0);
    for (const [lines, id] of [
      [onlyA, 1234],
      [onlyB, 9876543],
    ] as const) {
      const encodedValues = valuesOf(id).join('\n');
      for (const line of lines) {
        const isPersonalHeader = /^(To|Date|Message-ID|List-Unsubscribe):/.test(line);
        const isPartOfLink = line !== '' && encodedValues.includes(line.replace(/=$/, ''));
        expect(isPersonalHeader || isPartOfLink, `unexpected differing line: ${line}`).toBe(true);
      }
    }

    // After decoding, the parts are identical once each reader's own links are blanked out.
    const [a, b] = await Promise.all([simpleParser(first.raw), simpleParser(second.raw)]);
    const blank = (content: string, id: number) => {
      const links = linksOf(id);
      expect(content).toContain(tokenOf(links.unsubscribeUrl));
      return content
        .split(links.unsubscribeUrl)
        .join('{unsubscribe}')
        .split(links.preferencesUrl)
        .join('{preferences}');
    };
    expect(blank(a.text ?? '', 1234)).toBe(blank(b.text ?? '', 9876543));
    expect(blank(String(a.html), 1234)).toBe(blank(String(b.html), 9876543));
    expect(String(a.html)).not.toContain(tokenOf(linksOf(9876543).unsubscribeUrl));
  });
});

describe('the pre-built message over SMTP', () => {
  it('a pooled relay accepts the raw copies and each reader gets their own', async () => {
    const sink = await startSmtpSink();
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: sink.port,
      secure: false,
      ignoreTLS: true,
      pool: true,
      maxConnections: 2,
    });
    try {
      const readers = [
        { id: 1, email: 'one@example.org' },
        { id: 2, email: 'two@example.org' },
        { id: 3, email: 'three@bücher.example' },
      ];
      for (const reader of readers) {
        const message = template.render(reader, NOW);
        // The envelope and the To header carry the IDNA form of an internationalised domain.
        expect(message.envelope.to).toBe(reader.email.replace('bücher', 'xn--bcher-kva'));
        await transport.sendMail({ envelope: message.envelope, raw: message.raw });
      }
      expect(sink.messages).toHaveLength(3);
      for (const [index, received] of sink.messages.entries()) {
        const reader = readers[index]!;
        const parsed = await simpleParser(received.raw);
        const expectedAddress = reader.email.replace('bücher', 'xn--bcher-kva');
        // smtp-server reports envelope domains in Unicode
        expect(received.envelopeTo).toEqual([reader.email]);
        expect(received.envelopeFrom).toBe('newsletter@harbourgazette.example');
        expect(headerBlock(received.raw)).toContain(`\r\nTo: ${expectedAddress}\r\n`);
        expect(parsed.to).toMatchObject({ value: [{ address: reader.email }] });
        const token = linksOf(reader.id).unsubscribeUrl.split('/').pop()!;
        expect(verifyToken({ secret: TEST_SECRET }, token, 'unsubscribe', NOW)).toEqual({
          status: 'valid',
          claim: { purpose: 'unsubscribe', subscriberId: reader.id, newsletterId: 'daily' },
        });
        expect(parsed.text).toContain(token);
        expect(parsed.html).toContain(token);
      }
    } finally {
      transport.close();
      await sink.close();
    }
  });
});

describe('segment-by-segment quoted-printable', () => {
  const literal = fc.string({
    unit: fc.constantFrom('a', 'Z', ' ', '\n', '=', 'é', '—', '.', '\t', '€', '<', 'x'),
    maxLength: 200,
  });
  const slotted = fc
    .array(fc.tuple(fc.constantFrom('unsubscribeUrl', 'preferencesUrl'), literal), { minLength: 2, maxLength: 5 })
    .chain((pairs) =>
      literal.map((head): SlottedText => {
        const out: string[] = [head];
        for (const [slot, tail] of pairs) out.push(slot, tail);
        return out;
      }),
    )
    .filter((text) => text.includes('unsubscribeUrl') && text.includes('preferencesUrl'));
  const link = fc
    .stringMatching(/^[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]{1,160}$/)
    .map((tail) => `https://news.example.org/${tail}`);

  it('decodes to exactly the filled text and HTML for any content and any link, lines never over 76', () => {
    fc.assert(
      fc.property(slotted, slotted, link, link, (text, html, unsubscribeUrl, preferencesUrl) => {
        const prepared = prepareDigestMessage({
          ...input,
          body: { subject: 'S', preheader: '', text, html },
        });
        const message = prepared.renderWithLinks(
          { id: 5, email: 'r@example.org' },
          { unsubscribeUrl, preferencesUrl },
          NOW,
        );
        const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n').replace(/\r\n$/, '');
        const decoded = decodeParts(message.raw, digestBoundary(DIGEST.id));
        expect(decoded.text).toBe(crlf(fillSlots(text, { unsubscribeUrl, preferencesUrl })));
        expect(decoded.html).toBe(
          crlf(
            fillSlots(html, { unsubscribeUrl: escapeHtml(unsubscribeUrl), preferencesUrl: escapeHtml(preferencesUrl) }),
          ),
        );
        const source = message.raw.toString('latin1');
        for (const line of source.slice(source.indexOf('\r\n\r\n')).split('\r\n'))
          expect(line.length).toBeLessThanOrEqual(76);
      }),
      { numRuns: 200 },
    );
  });
});

describe('message size', () => {
  it('a full twelve-story digest stays under Gmail’s ~102 KB clipping size, so the unsubscribe footer is never cut off', async () => {
    const articles = Array.from({ length: 12 }, (_, i) =>
      makeArticle({
        title: `A long headline number ${i} about the harbour, the ferry, the council and the weather this week`,
        section: ['News', 'Business', 'Culture'][i % 3],
        publishedAt: new Date(Date.UTC(2025, 10, 27) - i * 3_600_000).toISOString(),
        authors: ['Mara Quill', 'Ben Okafor', 'Ruth Adeyemi'],
        standfirst: 'word '.repeat(400),
        image: {
          url: `https://news.harbourgazette.example/images/some/long/path/${i}-picture-of-the-harbour.jpg`,
          alt: 'alt text '.repeat(12),
          caption: 'caption text '.repeat(12),
        },
      }),
    );
    const full = await renderDigest({ newsletter: sampleNewsletter(), site, articles, issueDate: NOW });
    const message = prepareDigestMessage({ ...input, newsletter: sampleNewsletter(), body: full }).render(
      { id: 123_456_789, email: 'a.rather.long.address@subdomain.example.org' },
      NOW,
    );
    expect(message.raw.length).toBeLessThan(100 * 1024);
    const parsed = await simpleParser(message.raw);
    expect(String(parsed.html)).toMatch(/Unsubscribe<\/a>/);
  });
});

describe('headers from unusual configuration', () => {
  it('a title that already looks like an encoded-word is encoded, so readers see it as written', async () => {
    const title = '=?UTF-8?B?SGFja2Vk?= council minutes';
    const message = prepareDigestMessage({ ...input, body: { ...body, subject: title } }).render(
      { id: 5, email: 'reader@example.org' },
      NOW,
    );
    expect(headerBlock(message.raw)).not.toContain('=?UTF-8?B?SGFja2Vk?=');
    expect((await simpleParser(message.raw)).subject).toBe(title);
    // The same for a newsletter name in List-Id: encoded, the look-alike only inside an encoded-word.
    const named = prepareDigestMessage({ ...input, newsletter: sampleNewsletter({ name: '=?utf-8?q?Daily?=' }) });
    const lines = unfoldedLines(named.render({ id: 5, email: 'r@example.org' }, NOW).raw);
    const listId = lines.find((line) => line.startsWith('List-Id: '))?.slice('List-Id: '.length) ?? '';
    expect(listId).toMatch(/^=\?UTF-8\?Q\?=3D=3Futf-8=3Fq=3FDaily=3F=3D\?= <daily\./);
  });

  it('a non-ASCII baseUrl is written as punycode and percent-encoding, never as raw bytes', async () => {
    const unicodeSite = sampleSite({
      baseUrl: 'https://zeitung.bücher.example/nachrichten/ä',
      mailDomain: 'bücher.example',
    });
    const message = prepareDigestMessage({ ...input, site: unicodeSite }).render(
      { id: 8, email: 'r@example.org' },
      NOW,
    );
    expect(message.raw.every((byte) => byte < 128)).toBe(true);
    const token = createToken(TEST_SECRET, { purpose: 'unsubscribe', subscriberId: 8, newsletterId: 'daily' });
    const expected = `https://zeitung.xn--bcher-kva.example/nachrichten/%C3%A4/unsubscribe/${token}`;
    const parsed = await simpleParser(message.raw);
    expect((parsed.headers.get('list') as Record<string, Record<string, string>>).unsubscribe?.url).toBe(expected);
    expect(parsed.text).toContain(expected);
    expect(parsed.messageId).toMatch(/@xn--bcher-kva\.example>$/);
  });
});

describe('addresses and previews', () => {
  it('an address that would need SMTPUTF8 is refused with a clear error rather than sent garbled', () => {
    let caught: unknown;
    try {
      template.render({ id: 9, email: 'zoë@example.org' }, NOW);
    } catch (error) {
      caught = error;
    }
    expect(isAppError(caught, 'input_invalid')).toBe(true);
  });

  it('a preview shows the sample reader with links that unsubscribe nobody', async () => {
    const html = renderDigestPreview({ ...input, format: 'html' });
    const text = renderDigestPreview({ ...input, format: 'text' });
    const eml = renderDigestPreview({ ...input, format: 'eml', now: NOW });
    expect(html).toContain('href="https://news.harbourgazette.example/unsubscribe/preview"');
    expect(text).toContain('https://news.harbourgazette.example/preferences/preview');
    const parsed = await simpleParser(Buffer.from(eml));
    expect(parsed.to).toMatchObject({ value: [{ address: 'reader@example.org' }] });
    expect(parsed.text).toContain('/unsubscribe/preview');
    for (const purpose of ['unsubscribe', 'preferences'] as const) {
      expect(verifyToken({ secret: TEST_SECRET }, 'preview', purpose, NOW).status).toBe('invalid');
    }
  });
});

describe('a digest with embedded images', () => {
  const images = [
    { name: 'harbour', contentType: 'image/jpeg' as const, bytes: Buffer.alloc(5000, 7) },
    { name: 'logo', contentType: 'image/png' as const, bytes: Buffer.alloc(1200, 9) },
  ].map(({ name, contentType, bytes }) => {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const image = { cid: `${sha256.slice(0, 32)}@${site.mailDomain}`, sha256, contentType, width: 600, height: 400 };
    return {
      name,
      bytes,
      image: { ...image, bytes: bytes.length, sourceUrl: `https://news.harbourgazette.example/${name}` },
    };
  });
  let embedded: PrepareDigestMessageInput;

  beforeAll(async () => {
    const articles = flattenSections(selectArticles(sampleArticles(), newsletter, undefined)).map((article, i) =>
      i < 2
        ? { ...article, image: { url: `cid:${images[i]!.image.cid}`, alt: images[i]!.name } }
        : { ...article, image: undefined },
    );
    const withImages = await renderDigest({
      newsletter,
      site,
      articles,
      issueDate: NOW,
      images: { policy: 'embedded', inline: images.map((i) => i.image), omitted: [] },
    });
    embedded = {
      ...input,
      body: withImages,
      imageBytes: new Map(images.map((i) => [i.image.sha256, i.bytes])),
    };
  });

  it('wraps the HTML and its images in multipart/related, built once, with the same headers as before', async () => {
    const message = prepareDigestMessage(embedded).render({ id: 42, email: 'reader@example.org' }, NOW).raw;
    const text = message.toString('latin1');
    const types = [...text.matchAll(/^Content-Type: ([^;\r\n]+)/gm)].map((m) => m[1]);
    expect(types).toEqual([
      'multipart/alternative',
      'text/plain',
      'multipart/related',
      'text/html',
      'image/jpeg',
      'image/png',
    ]);
    expect(text).toMatch(/Content-Type: multipart\/related; type="text\/html";\r\n? ?boundary=/);
    const html = String((await simpleParser(message, { skipImageLinks: true })).html);
    for (const { image } of images) {
      expect(text).toContain(`Content-ID: <${image.cid}>`);
      expect(html).toContain(`src="cid:${image.cid}"`);
    }
    expect(headerNames(message)).toEqual(
      headerNames(template.render({ id: 42, email: 'reader@example.org' }, NOW).raw),
    );
    expect(message.every((byte) => byte < 128)).toBe(true);
    for (const line of text.slice(text.indexOf('\r\n\r\n')).split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
  });

  it('passes the offline MIME linter', (context) => {
    if (spawnSync('python3', ['--version']).status !== 0 || !existsSync(mimeLint)) {
      context.skip(`python3 or ${mimeLint} is not available; MIME lint skipped`);
      return;
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'lp-compose-'));
    scratch.push(dir);
    const file = path.join(dir, 'embedded.eml');
    writeFileSync(file, prepareDigestMessage(embedded).render({ id: 42, email: 'reader@example.org' }, NOW).raw);
    const lint = spawnSync('python3', [mimeLint, file], { encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toContain('no MIME/RFC 5322 defects found');
    expect(lint.status).toBe(0);
  });

  it('refuses to build a message whose image is missing from the store, and previews show the images inline', () => {
    const missing = { ...embedded, imageBytes: new Map([[images[0]!.image.sha256, images[0]!.bytes]]) };
    expect(() => prepareDigestMessage(missing)).toThrow(/the embedded image [0-9a-f]{64} is missing/);
    const html = renderDigestPreview({ ...embedded, format: 'html' });
    expect(html).toContain(`src="data:image/jpeg;base64,${images[0]!.bytes.toString('base64')}"`);
    expect(html).not.toContain('cid:');
  });
});
