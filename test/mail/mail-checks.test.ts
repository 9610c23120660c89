/**
 * Every kind of message a reader or an editor can receive (confirmation, welcome, test send, digest, letter), sent
 * by the running system with a DKIM key to a real SMTP server, then judged by the independent offline tools in
 * ../shared/tools/mailcheck: Debian's python3-dkim verifies the signature against a local DNS record, mime-lint
 * checks the MIME structure, and for digests and letters check-rfc8058.js (mailauth) checks that a passing signature
 * covers List-Unsubscribe and List-Unsubscribe-Post and performs the one-click POST against our own server, as a
 * mailbox provider would. The tools live beside the repository, not in it: without them these tests report skipped.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { startHttpServer, type HttpServer } from '../../src/http/server.js';
import { silentLogger } from '../../src/logger.js';
import { findFreePort } from '../../src/private-redis.js';
import { runWorkers, type RunningWorkers } from '../../workers/run-workers.js';
import { QUICK_JOB_OPTIONS, QUICK_WORKER_OPTIONS } from '../delivery/delivery-fixture.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { ingestSampleFeed } from '../helpers/sample-feed.js';
import { startSmtpSink, type ReceivedMessage } from '../helpers/smtp-sink.js';
import { waitUntil } from '../helpers/wait-until.js';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const mailcheck = resolve(repoRoot, '../shared/tools/mailcheck');
const PYTHON = '/usr/bin/python3';
/** The tools sit beside the repository (not in a user's clone); `.ci/run` installs python3-dkim. */
const HAS_MAILCHECK = existsSync(join(mailcheck, 'dkim-verify-offline.py'));
// check-rfc8058.js needs mailauth, a dev dependency of ours: it is resolved from our node_modules.
const nodeModules = dirname(dirname(createRequire(import.meta.url).resolve('mailauth/package.json')));

const ORIGIN = 'https://news.harbourgazette.example';
const TOKEN = 'maggie-newsroom-token-0123456789abcdef';
const SELECTOR = 'lp2026';
const DOMAIN = 'harbourgazette.example';

interface CheckResult {
  isPassed: boolean;
  output: string;
}

async function tool(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CheckResult> {
  try {
    const { stdout, stderr } = await run(command, args, { env: { ...process.env, ...env }, timeout: 30_000 });
    return { isPassed: true, output: stdout + stderr };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    return { isPassed: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` || failed.message };
  }
}

describe.skipIf(!HAS_MAILCHECK)(
  'every message kind, judged by the offline mail checks (../shared/tools/mailcheck)',
  () => {
    let app: App;
    let server: HttpServer;
    let workers: RunningWorkers;
    let sink: Awaited<ReturnType<typeof startSmtpSink>>;
    let cleanup: () => Promise<void>;
    let dir: string;
    let dnsFile: string;
    let local: string;
    const kinds = new Map<string, ReceivedMessage>();

    beforeAll(async () => {
      const redis = await openTestRedis('mail-checks');
      cleanup = redis.cleanup;
      dir = mkdtempSync(join(tmpdir(), 'lp-mailcheck-'));
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const keyFile = join(dir, 'dkim.pem');
      writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
      const record = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
      dnsFile = join(dir, 'dns.json');
      writeFileSync(dnsFile, JSON.stringify({ [`${SELECTOR}._domainkey.${DOMAIN}`]: { TXT: [[record]] } }));
      const configFile = join(dir, 'letterpress.json');
      writeFileSync(
        configFile,
        JSON.stringify({
          site: {
            name: 'The Harbour Gazette',
            baseUrl: ORIGIN,
            mailDomain: DOMAIN,
            unsubscribeMailbox: 'unsubscribe@harbourgazette.example',
          },
          newsletters: [
            {
              id: 'daily',
              name: 'The Daily Digest',
              description: 'The night’s news, every morning at six.',
              welcome: { message: 'Thank you for joining The Daily Digest.\n\nIt arrives every morning at six.' },
            },
          ],
        }),
      );
      sink = await startSmtpSink();
      const port = await findFreePort();
      local = `http://127.0.0.1:${port}`;
      app = await createApp(
        loadConfig({
          REDIS_URL: TEST_REDIS_URL,
          LETTERPRESS_PREFIX: redis.prefix,
          LETTERPRESS_CONFIG: configFile,
          SMTP_URL: sink.url,
          SMTP_POOL_SIZE: '2',
          EDITOR_TOKENS: `maggie:${TOKEN}`,
          DKIM_DOMAIN: DOMAIN,
          DKIM_SELECTOR: SELECTOR,
          DKIM_PRIVATE_KEY: keyFile,
        }),
        { logger: silentLogger, jobOptions: QUICK_JOB_OPTIONS },
      );
      await ingestSampleFeed(app);
      for (const email of ['reader@example.org', 'other.reader@example.org']) {
        await app.subscribers.add({ email, newsletterIds: ['daily'], status: 'active' });
      }
      workers = await runWorkers(app, QUICK_WORKER_OPTIONS);
      server = await startHttpServer(app, { port, hostname: '127.0.0.1' });

      const api = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(`${local}/api/v1${path}`, {
          method,
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', origin: ORIGIN },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const answer = await response.json();
        expect(response.status, `${method} ${path}: ${JSON.stringify(answer)}`).toBeLessThan(300);
        return answer;
      };
      const nextTo = async (address: string, count: number) => {
        await waitUntil(`message ${count} to ${address}`, () => sentTo(address).length >= count, { timeoutMs: 30_000 });
        return sentTo(address)[count - 1]!;
      };
      const sentTo = (address: string) => sink.messages.filter((m) => m.envelopeTo.includes(address));

      // A reader signs up on the form and confirms from the email: a confirmation, then a welcome.
      const form = await fetch(`${local}/subscribe`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN },
        body: 'email=new.reader%40example.org&newsletters=daily',
      });
      expect(form.status).toBe(200);
      const confirmation = await nextTo('new.reader@example.org', 1);
      kinds.set('confirmation', confirmation);
      const link = /\/confirm\/[\w.-]+/.exec(String((await simpleParser(confirmation.raw)).text))?.[0];
      expect(link).toBeDefined();
      const confirmed = await fetch(`${local}${link}`, { method: 'POST', headers: { origin: ORIGIN } });
      expect(confirmed.status).toBe(200);
      kinds.set('welcome', await nextTo('new.reader@example.org', 2));

      // An editor tests a letter, then sends it; then a digest of the suggested articles.
      const letter = await api('POST', '/digests', { newsletterId: 'daily', kind: 'letter' });
      await api('PATCH', `/digests/${letter.digest.id}`, {
        letter: { title: 'From the editor', body: 'Dear readers, **thank you** for a year of letters.' },
      });
      await api('POST', `/digests/${letter.digest.id}/test`, { to: 'maggie@example.org' });
      kinds.set('test', await nextTo('maggie@example.org', 1));
      await api('POST', `/digests/${letter.digest.id}/send`, {});
      kinds.set('letter', await nextTo('reader@example.org', 1));
      const digest = await api('POST', '/digests', { newsletterId: 'daily' });
      await api('POST', `/digests/${digest.digest.id}/send`, {});
      kinds.set('digest', await nextTo('reader@example.org', 2));
      kinds.set('digest to another reader', await nextTo('other.reader@example.org', 2));
      for (const [kind, message] of kinds) writeFileSync(join(dir, `${kind}.eml`), message.raw);
    });
    afterAll(async () => {
      await server?.close();
      await workers?.close();
      await app?.close();
      await sink?.close();
      await cleanup?.();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const everyKind = ['confirmation', 'welcome', 'test', 'letter', 'digest'];

    it.each(everyKind)('a %s passes DKIM (python3-dkim, offline) with From, To and Subject signed', async (kind) => {
      const result = await tool(PYTHON, [join(mailcheck, 'dkim-verify-offline.py'), join(dir, `${kind}.eml`), dnsFile]);
      expect(result.isPassed, result.output).toBe(true);
      expect(result.output).toMatch(/signed headers:.*\bfrom\b/);
      expect(result.output).toMatch(/signed headers:.*\bto\b/);
      expect(result.output).toMatch(/signed headers:.*\bsubject\b/);
      const isListMessage = kind !== 'confirmation';
      if (isListMessage) expect(result.output).toMatch(/signed headers:.*\bfeedback-id\b/);
    });

    it.each(everyKind)('a %s passes mime-lint (structure, required headers, CRLF, line lengths)', async (kind) => {
      const result = await tool(PYTHON, [join(mailcheck, 'mime-lint.py'), join(dir, `${kind}.eml`)]);
      expect(result.isPassed, result.output).toBe(true);
    });

    it('a tampered message fails the DKIM check (the check can fail)', async () => {
      const raw = kinds
        .get('digest')!
        .raw.toString('latin1')
        .replace(/^Subject: .*$/m, 'Subject: Win a prize');
      writeFileSync(join(dir, 'tampered.eml'), raw, 'latin1');
      const result = await tool(PYTHON, [
        join(mailcheck, 'dkim-verify-offline.py'),
        join(dir, 'tampered.eml'),
        dnsFile,
      ]);
      expect(result.isPassed, result.output).toBe(false);
    });

    it.each([
      ['letter', 'reader@example.org'],
      ['digest to another reader', 'other.reader@example.org'],
    ])(
      'a %s meets RFC 8058: both List-Unsubscribe headers signed, and its one-click POST leaves the newsletter',
      async (kind, address) => {
        const reader = await app.subscribers.getByEmail(address);
        expect(await app.subscribers.isActive(reader!.id, 'daily')).toBe(true);
        const result = await tool(
          process.execPath,
          [join(mailcheck, 'check-rfc8058.js'), join(dir, `${kind}.eml`), dnsFile, '--post-to', local],
          { NODE_PATH: nodeModules },
        );
        expect(result.isPassed, result.output).toBe(true);
        expect(await app.subscribers.isActive(reader!.id, 'daily')).toBe(false);
      },
    );
  },
);
