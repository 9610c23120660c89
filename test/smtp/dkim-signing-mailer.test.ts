/**
 * DKIM on the fast path: with a key configured, SMTP_MAILER=auto sends through the built-in client and every message
 * (a digest to each reader, a confirmation) arrives at a real SMTP server signed, and verifiers other than ours accept
 * it: Debian's python3-dkim through the shared tool (and per signature), and mailauth.
 */
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { renderDigest } from '../../src/digests/render-digest.js';
import { flattenSections, selectArticles } from '../../src/digests/select-articles.js';
import { prepareDigestMessage, type DigestMessageTemplate } from '../../src/mail/compose-message.js';
import { composeTransactionalMessage } from '../../src/mail/transactional-message.js';
import { confirmationContent } from '../../src/mail/reader-messages.js';
import { canonicalizeRelaxedHeader, RelaxedBodyHasher, splitMessage } from '../../src/mail/sign-dkim.js';
import { dkimRecordValue } from '../../src/ops/dns-records.js';
import { createMailerFromConfig } from '../../src/smtp/smtp-mailer.js';
import { sampleArticles, sampleNewsletter, sampleSite, TEST_SECRET } from '../digests/sample-articles.js';
import { startSmtpSink, type ReceivedMessage } from '../helpers/smtp-sink.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const sharedVerifier = path.join(path.resolve(repoRoot, '../shared'), 'tools/mailcheck/dkim-verify-offline.py');
const hasSharedVerifier = existsSync(sharedVerifier) && existsSync('/usr/bin/python3');

const DOMAIN = 'harbourgazette.example';
const RSA_SELECTOR = 'lp2026';
const ED25519_SELECTOR = 'lp2026e';
const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const ed25519Pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const DNS = {
  [`${RSA_SELECTOR}._domainkey.${DOMAIN}`]: { TXT: [[dkimRecordValue(rsaPem)]] },
  [`${ED25519_SELECTOR}._domainkey.${DOMAIN}`]: { TXT: [[dkimRecordValue(ed25519Pem)]] },
};

const NOW = new Date('2026-03-02T06:00:00Z');
const newsletter = sampleNewsletter();
const site = sampleSite();
const READERS = [
  { id: 41, email: 'ana@example.org' },
  { id: 42, email: 'ben@example.net' },
];

let template: DigestMessageTemplate;
let scratch: string;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const articles = flattenSections(selectArticles(sampleArticles(), newsletter, undefined));
  const body = await renderDigest({ newsletter, site, articles, issueDate: NOW });
  template = prepareDigestMessage({
    digest: { id: 'daily-20260302', newsletterId: newsletter.id },
    body,
    newsletter,
    site,
    secret: TEST_SECRET,
  });
  scratch = mkdtempSync(path.join(tmpdir(), 'lp-dkim-'));
  writeFileSync(path.join(scratch, 'dns.json'), JSON.stringify(DNS));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A config as the environment gives it: the relay, the RSA key and, when asked, the Ed25519 key. */
function dkimConfig(url: string, withEd25519: boolean): Config {
  return loadConfig({
    SMTP_URL: url,
    DKIM_DOMAIN: DOMAIN,
    DKIM_SELECTOR: RSA_SELECTOR,
    DKIM_PRIVATE_KEY: rsaPem,
    ...(withEd25519 ? { DKIM_ED25519_SELECTOR: ED25519_SELECTOR, DKIM_ED25519_PRIVATE_KEY: ed25519Pem } : {}),
  });
}

/** Sends the digest to every reader and the given extra messages through the configured mailer; returns the capture. */
async function sendThroughConfiguredMailer(withEd25519: boolean): Promise<ReceivedMessage[]> {
  const sink = await startSmtpSink();
  cleanups.push(sink.close);
  const mailer = createMailerFromConfig(dkimConfig(sink.url, withEd25519));
  cleanups.push(() => mailer.close());
  for (const reader of READERS) await mailer.send(template.render(reader, NOW));
  return sink.messages;
}

let file = 0;
function saved(raw: Buffer): string {
  file += 1;
  const target = path.join(scratch, `message-${file}.eml`);
  writeFileSync(target, raw);
  return target;
}

/** The shared tool's verdict (python3-dkim on the topmost signature). */
function sharedToolVerdict(raw: Buffer): { ok: boolean; output: string } {
  const run = spawnSync('/usr/bin/python3', [sharedVerifier, saved(raw), path.join(scratch, 'dns.json')], {
    encoding: 'utf8',
  });
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/** python3-dkim's verdict on each signature of the message, top first. */
function dkimpyVerdicts(raw: Buffer): boolean[] {
  const script = `
import json, sys, dkim
msg = open(sys.argv[1], 'rb').read()
cache = json.load(open(sys.argv[2]))
def dnsfunc(name, timeout=5):
    rec = cache.get(name.decode().rstrip('.'), {}).get('TXT')
    return ''.join(rec[0]).encode() if rec else None
count = sum(1 for line in msg.split(b'\\r\\n\\r\\n')[0].split(b'\\r\\n') if line.lower().startswith(b'dkim-signature:'))
print(json.dumps([bool(dkim.DKIM(msg).verify(idx=i, dnsfunc=dnsfunc)) for i in range(count)]))
`;
  const run = spawnSync('/usr/bin/python3', ['-c', script, saved(raw), path.join(scratch, 'dns.json')], {
    encoding: 'utf8',
  });
  return JSON.parse(run.stdout) as boolean[];
}

/** mailauth's verdicts, one per signature. */
async function mailauthVerdicts(raw: Buffer) {
  const resolver = async (name: string, type: string) => {
    const record = (DNS as Record<string, Record<string, string[][]>>)[name]?.[type];
    if (!record) throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
    return record;
  };
  const result = await dkimVerify(raw, { resolver });
  return result.results.map((entry) => ({
    result: entry.status.result,
    selector: entry.selector,
  }));
}

/** The unfolded DKIM-Signature headers of a message, top first, as tag maps. */
function signatures(raw: Buffer): Map<string, string>[] {
  const header = splitMessage([raw])
    .header.toString('latin1')
    .replace(/\r\n[ \t]+/g, ' ');
  return header
    .split('\r\n')
    .filter((line) => /^dkim-signature:/i.test(line))
    .map(
      (line) =>
        new Map(
          line
            .slice(line.indexOf(':') + 1)
            .split(';')
            .map((tag) => tag.trim())
            .filter(Boolean)
            .map((tag) => [tag.slice(0, tag.indexOf('=')), tag.slice(tag.indexOf('=') + 1).replace(/\s+/g, '')]),
        ),
    );
}

/** Changes the first line of a header (e.g. the Subject) without touching anything else. */
function tamper(raw: Buffer, name: string, replace: (line: string) => string): Buffer {
  const text = raw.toString('latin1');
  const pattern = new RegExp(`^${name}:[^\\r]*`, 'im');
  expect(pattern.test(text)).toBe(true);
  return Buffer.from(text.replace(pattern, replace), 'latin1');
}

describe('DKIM on the built-in client', () => {
  it.skipIf(!hasSharedVerifier)(
    'a digest sent with an RSA key verifies with python3-dkim (shared dkim-verify-offline.py), one-click headers signed',
    async () => {
      const [first] = await sendThroughConfiguredMailer(false);
      const raw = (first as ReceivedMessage).raw;
      expect(raw.toString('latin1')).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed;/);
      const verdict = sharedToolVerdict(raw);
      expect(verdict.output).toContain('dkim pass');
      expect(verdict.output).toContain('covers list-unsubscribe-post: True');
      expect(verdict.ok).toBe(true);
      const [signature] = signatures(raw);
      expect(signatures(raw)).toHaveLength(1);
      expect(signature?.get('h')?.split(':')).toEqual(
        expect.arrayContaining([
          'from',
          'to',
          'subject',
          'date',
          'message-id',
          'mime-version',
          'content-type',
          'list-id',
          'list-unsubscribe',
          'list-unsubscribe-post',
        ]),
      );
      expect(signature?.get('d')).toBe(DOMAIN);
      expect(signature?.get('s')).toBe(RSA_SELECTOR);
    },
  );

  it.skipIf(!hasSharedVerifier)('a tampered Subject, To or unsubscribe link fails verification', async () => {
    const [first] = await sendThroughConfiguredMailer(false);
    const raw = (first as ReceivedMessage).raw;
    expect(sharedToolVerdict(raw).ok).toBe(true);
    for (const [name, change] of [
      ['Subject', (line: string) => `${line}!`],
      ['To', (line: string) => line.replace('ana@', 'eve@')],
      ['List-Unsubscribe-Post', () => 'List-Unsubscribe-Post: List-Unsubscribe=Two-Clicks'],
    ] as const) {
      expect(sharedToolVerdict(tamper(raw, name, change)).ok, name).toBe(false);
    }
    // The body too: one character of the HTML part.
    const text = raw.toString('latin1');
    const at = text.lastIndexOf('</html>');
    const body = Buffer.from(`${text.slice(0, at)}</htmL>${text.slice(at + 7)}`, 'latin1');
    expect(sharedToolVerdict(body).ok).toBe(false);
    expect((await mailauthVerdicts(body))[0]?.result).not.toBe('pass');
  });

  it.skipIf(!hasSharedVerifier)(
    'with an Ed25519 key too, every copy carries both signatures and each one verifies (python3-dkim, mailauth, Node)',
    async () => {
      const messages = await sendThroughConfiguredMailer(true);
      expect(messages).toHaveLength(READERS.length);
      for (const { raw } of messages) {
        const found = signatures(raw);
        expect(found.map((tags) => tags.get('a'))).toEqual(['rsa-sha256', 'ed25519-sha256']);
        expect(found.map((tags) => tags.get('s'))).toEqual([RSA_SELECTOR, ED25519_SELECTOR]);
        expect(sharedToolVerdict(raw).ok).toBe(true);
        expect(dkimpyVerdicts(raw)).toEqual([true, true]);
        expect(await mailauthVerdicts(raw)).toEqual([
          { result: 'pass', selector: RSA_SELECTOR },
          { result: 'pass', selector: ED25519_SELECTOR },
        ]);
        expect(verifyEd25519WithNode(raw, found[1] as Map<string, string>)).toBe(true);
      }
      // Tampering breaks both.
      const forged = tamper((messages[0] as ReceivedMessage).raw, 'Subject', (line) => `${line}?`);
      expect(dkimpyVerdicts(forged)).toEqual([false, false]);
    },
  );

  it('two readers get different signatures, each over their own To and one-click link', async () => {
    const messages = await sendThroughConfiguredMailer(false);
    const [ana, ben] = messages.map(({ raw }) => raw);
    const anaSignature = signatures(ana as Buffer)[0] as Map<string, string>;
    const benSignature = signatures(ben as Buffer)[0] as Map<string, string>;
    expect(anaSignature.get('b')).not.toBe(benSignature.get('b'));
    expect(anaSignature.get('h')).toBe(benSignature.get('h'));
    expect(ana?.toString('latin1')).toMatch(/^To: ana@example\.org\r$/m);
    expect(ben?.toString('latin1')).toMatch(/^To: ben@example\.net\r$/m);
    // The bodies differ only in the personal links, so the body hashes differ; each matches its own body.
    expect(anaSignature.get('bh')).not.toBe(benSignature.get('bh'));
    for (const [raw, tags] of [
      [ana, anaSignature],
      [ben, benSignature],
    ] as const) {
      const { body } = splitMessage([raw as Buffer]);
      const expected = createHash('sha256').update(RelaxedBodyHasher.canonicalBody(body)).digest('base64');
      expect(tags.get('bh')).toBe(expected);
    }
    // Ana's signature does not verify on a copy where Ben's address replaced hers.
    if (hasSharedVerifier) {
      const swapped = tamper(ana as Buffer, 'To', () => 'To: ben@example.net');
      expect(sharedToolVerdict(swapped).ok).toBe(false);
    }
  });

  it.skipIf(!hasSharedVerifier)('a confirmation (no list headers) goes through the signer and verifies', async () => {
    const sink = await startSmtpSink();
    cleanups.push(sink.close);
    const mailer = createMailerFromConfig(dkimConfig(sink.url, true));
    cleanups.push(() => mailer.close());
    const message = await composeTransactionalMessage({
      messageKey: 'confirmation',
      messageSeed: 'request-1',
      content: confirmationContent({
        site,
        newsletterNames: [newsletter.name],
        confirmUrl: `${site.baseUrl}/confirm/token`,
        expiresAt: NOW,
        ttlHours: 72,
      }),
      recipient: { id: 0, email: 'new@example.org' },
      site,
      secret: TEST_SECRET,
      now: NOW,
    });
    await mailer.send(message);
    const raw = (sink.messages[0] as ReceivedMessage).raw;
    expect(dkimpyVerdicts(raw)).toEqual([true, true]);
    expect(sharedToolVerdict(raw).output).toContain('dkim pass');
    expect(signatures(raw)[0]?.get('h')).not.toContain('list-unsubscribe');
  });

  it('SMTP_MAILER=nodemailer still signs (nodemailer, main key only)', async () => {
    const sink = await startSmtpSink();
    cleanups.push(sink.close);
    const config = dkimConfig(sink.url, true);
    const mailer = createMailerFromConfig({ ...config, smtp: { ...config.smtp, mailer: 'nodemailer' } });
    cleanups.push(() => mailer.close());
    await mailer.send(template.render(READERS[0] as (typeof READERS)[number], NOW));
    const found = signatures((sink.messages[0] as ReceivedMessage).raw);
    expect(found.map((tags) => tags.get('a'))).toEqual(['rsa-sha256']);
    expect((await mailauthVerdicts((sink.messages[0] as ReceivedMessage).raw))[0]?.result).toBe('pass');
  });
});

/**
 * Recomputes an Ed25519 signature as RFC 8463 defines it, with Node's crypto only: the signed headers in h= order
 * (last instance first), then the signature header with an empty b=, relaxed; Ed25519 over their SHA-256.
 */
function verifyEd25519WithNode(raw: Buffer, tags: Map<string, string>): boolean {
  const header = splitMessage([raw]).header.toString('latin1');
  const fields = header
    .replace(/\r\n$/, '')
    .split(/\r\n(?![ \t])/)
    .map((text) => ({ name: text.slice(0, text.indexOf(':')).trim().toLowerCase(), text }));
  const used = new Set<number>();
  let data = '';
  for (const name of (tags.get('h') ?? '').split(':')) {
    for (let i = fields.length - 1; i >= 0; i -= 1) {
      if (fields[i]?.name === name && !used.has(i)) {
        used.add(i);
        data += `${canonicalizeRelaxedHeader((fields[i] as { text: string }).text)}\r\n`;
        break;
      }
    }
  }
  const own = fields.find((field) => field.name === 'dkim-signature' && /a=ed25519-sha256/.test(field.text));
  if (!own) return false;
  data += canonicalizeRelaxedHeader(own.text.replace(/([;\s]b=)[^;]*/, '$1'));
  const publicKey = createPublicKey(ed25519Pem);
  return verify(
    null,
    createHash('sha256').update(data, 'latin1').digest(),
    publicKey,
    Buffer.from(tags.get('b') ?? '', 'base64'),
  );
}
