/**
 * With a DKIM key (RSA, plus Ed25519) configured and SMTP_MAILER left at `auto`, every kind of message the workers
 * send leaves signed by the built-in client and verifies: a digest through fan-out and delivery workers (real Redis),
 * a confirmation, a welcome message and an editor's test copy through the transactional use case.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { sendDigest } from '../../src/delivery/send-digest.js';
import { sendTransactionalMessage } from '../../src/delivery/send-transactional-message.js';
import { waitForDigestSettled } from '../../src/delivery/wait-for-digest.js';
import { dkimRecordValue } from '../../src/ops/dns-records.js';
import { transactionalDepsFromApp } from '../../workers/transactional-worker.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';
import { startDeliveryBench } from './delivery-fixture.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const sharedVerifier = join(resolve(repoRoot, '../shared'), 'tools/mailcheck/dkim-verify-offline.py');
const canVerify = existsSync(sharedVerifier) && existsSync('/usr/bin/python3');

const DOMAIN = 'news.harbourgazette.example';
const pem = (pair: { privateKey: { export(options: { type: 'pkcs8'; format: 'pem' }): string | Buffer } }) =>
  pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const rsaPem = pem(generateKeyPairSync('rsa', { modulusLength: 2048 }));
const ed25519Pem = pem(generateKeyPairSync('ed25519'));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** python3-dkim's verdict on each DKIM-Signature of a message, top first. */
function verdicts(scratch: string, name: string, raw: Buffer): boolean[] {
  const file = join(scratch, `${name}.eml`);
  writeFileSync(file, raw);
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
  const run = spawnSync('/usr/bin/python3', ['-c', script, file, join(scratch, 'dns.json')], { encoding: 'utf8' });
  const shared = spawnSync('/usr/bin/python3', [sharedVerifier, file, join(scratch, 'dns.json')], { encoding: 'utf8' });
  expect(shared.stdout, `${name}: the shared verifier`).toContain('dkim pass');
  return JSON.parse(run.stdout) as boolean[];
}

describe('DKIM on every message kind', () => {
  it.skipIf(!canVerify)(
    'a digest, a confirmation, a welcome and a test copy all arrive with an RSA and an Ed25519 signature that verify',
    async () => {
      const scratch = mkdtempSync(join(tmpdir(), 'lp-dkim-kinds-'));
      cleanups.push(async () => rmSync(scratch, { recursive: true, force: true }));
      writeFileSync(
        join(scratch, 'dns.json'),
        JSON.stringify({
          [`lp._domainkey.${DOMAIN}`]: { TXT: [[dkimRecordValue(rsaPem)]] },
          [`lpe._domainkey.${DOMAIN}`]: { TXT: [[dkimRecordValue(ed25519Pem)]] },
        }),
      );
      const configFile = join(scratch, 'letterpress.json');
      writeFileSync(
        configFile,
        JSON.stringify({
          site: { name: 'The Harbour Gazette', baseUrl: `https://${DOMAIN}` },
          newsletters: [{ id: 'daily', name: 'The Daily Digest', welcome: { message: 'Thank you for joining.' } }],
        }),
      );
      const sink = await startSmtpSink();
      cleanups.push(sink.close);
      const bench = await startDeliveryBench({
        smtpUrl: sink.url,
        env: {
          LETTERPRESS_CONFIG: configFile,
          DKIM_DOMAIN: DOMAIN,
          DKIM_SELECTOR: 'lp',
          DKIM_PRIVATE_KEY: rsaPem,
          DKIM_ED25519_SELECTOR: 'lpe',
          DKIM_ED25519_PRIVATE_KEY: ed25519Pem,
        },
      });
      cleanups.push(bench.close);
      expect(bench.app.config.smtp.mailer).toBe('auto');

      const readers = await bench.addReaders(3, 'digest.example');
      const digest = await bench.createDigest(['Harbour wall repairs begin in spring']);
      await bench.startWorkers();
      await sendDigest(bench.app, { digestId: digest.id });
      const settled = await waitForDigestSettled(bench.app, digest.id, { timeoutMs: 60_000 });
      expect(settled.counts.delivered).toBe(readers.length);

      const deps = transactionalDepsFromApp(bench.app);
      const request = await bench.app.subscribers.requestSubscription({
        email: 'new.reader@example.org',
        newsletterIds: ['daily'],
        isConfirmationSent: true,
      });
      const sent = [
        await sendTransactionalMessage(deps, {
          kind: 'confirmation',
          subscriberId: request.subscriberId,
          requestedAt: request.requestedAt ?? '',
        }),
        await sendTransactionalMessage(deps, {
          kind: 'welcome',
          subscriberId: readers[0]?.id ?? 0,
          newsletterId: 'daily',
          joinedAt: new Date().toISOString(),
        }),
        await sendTransactionalMessage(deps, {
          kind: 'test',
          digestId: digest.id,
          email: 'editor@harbourgazette.example',
          requestId: 'request-0001',
          requestedBy: 'desk',
        }),
      ];
      expect(sent.map((outcome) => outcome.kind)).toEqual(['sent', 'sent', 'sent']);
      const expected = readers.length + sent.filter((outcome) => outcome.kind === 'sent').length;
      expect(sink.messages).toHaveLength(expected);
      for (const [index, message] of sink.messages.entries()) {
        const name = `${index}-${message.envelopeTo[0] ?? ''}`;
        expect(verdicts(scratch, name, message.raw), name).toEqual([true, true]);
      }
    },
  );
});
