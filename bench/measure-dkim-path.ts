/**
 * `--dkim`: the real path again, with the workers signing every message (RSA-2048, relaxed/relaxed, Ed25519 off), a
 * second digest of the same articles to the same readers, in the same session as the unsigned run. The first signed
 * messages the sink keeps are verified by python3-dkim through the shared `dkim-verify-offline.py`, against a DNS
 * file holding the public key.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { App } from '../src/app.js';
import type { Config } from '../src/config.js';
import { createDigest } from '../src/digests/create-digest.js';
import type { Digest } from '../src/digests/digest.js';
import { dkimRecordValue, senderDomain } from '../src/ops/dns-records.js';
import type { DkimFigures, OursFigures } from './bench-report.js';
import { measureRealPath, type RealPathContext } from './measure-real-path.js';
import { SAMPLE_LIMIT } from './sink.js';
import { repoRoot } from './sink-process.js';

/** The shared offline verifier (python3-dkim), beside the repository as `../shared`. */
export const DKIM_VERIFIER = resolve(repoRoot, '../shared/tools/mailcheck/dkim-verify-offline.py');

const KEY_BITS = 2048;
const SELECTOR = 'bench';

/** Runs the signed real path (see the module comment) and compares it with the unsigned run `unsigned`. */
export async function measureDkimPath(
  context: RealPathContext,
  unsigned: OursFigures,
  input: { digest: Digest; temp: string; seedMs: number },
): Promise<DkimFigures> {
  const { app, config, temp } = { ...context, temp: input.temp };
  const pem = generateKeyPairSync('rsa', { modulusLength: KEY_BITS })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  const keyPath = join(temp, 'dkim.pem');
  await writeFile(keyPath, pem, { mode: 0o600 });
  const domain = senderDomain(config.site.from) ?? new URL(config.site.baseUrl).hostname;
  const dnsPath = join(temp, 'dkim-dns.json');
  await writeFile(dnsPath, JSON.stringify({ [`${SELECTOR}._domainkey.${domain}`]: { TXT: [[dkimRecordValue(pem)]] } }));

  const signedDigest = await secondDigest(app, config, input.digest);
  context.progress(`real path, DKIM-signed (rsa-sha256, ${KEY_BITS} bits): digest ${signedDigest.id}`);
  const signed = await measureRealPath(
    {
      ...context,
      digestId: signedDigest.id,
      workerEnv: {
        ...context.workerEnv,
        DKIM_DOMAIN: domain,
        DKIM_SELECTOR: SELECTOR,
        DKIM_PRIVATE_KEY: keyPath,
      },
    },
    input.seedMs,
  );
  const samples: Buffer[] = [];
  for (let index = 0; index < SAMPLE_LIMIT; index += 1) {
    const sample = await context.sink.sample(index);
    if (sample) samples.push(sample);
  }
  const canVerify = existsSync(DKIM_VERIFIER) && existsSync('/usr/bin/python3');
  let verified: number | null = null;
  if (canVerify) {
    verified = 0;
    for (const [index, sample] of samples.entries()) {
      const file = join(temp, `signed-${index}.eml`);
      await writeFile(file, sample);
      const run = spawnSync('/usr/bin/python3', [DKIM_VERIFIER, file, dnsPath], { encoding: 'utf8' });
      if (run.status === 0 && run.stdout.includes('dkim pass')) verified += 1;
      else context.progress(`signed sample ${index} did not verify: ${run.stdout.trim()} ${run.stderr.trim()}`);
    }
  }
  return {
    signed,
    keyBits: KEY_BITS,
    dkimVsUnsigned: unsigned.deliveriesPerSecond > 0 ? signed.deliveriesPerSecond / unsigned.deliveriesPerSecond : 0,
    sampled: samples.length,
    verified,
    verifier: canVerify ? 'python3-dkim via ../shared/tools/mailcheck/dkim-verify-offline.py' : 'none on this machine',
  };
}

/** A second ready digest with the same articles (chosen ones may repeat an issue), a second later so its id differs. */
async function secondDigest(app: App, config: Config, first: Digest): Promise<Digest> {
  const newsletter = config.newsletters.find((candidate) => candidate.id === first.newsletterId);
  if (!newsletter) throw new Error(`newsletter ${first.newsletterId} is not configured`);
  const issueDate = new Date(Date.now() + 1_000);
  return createDigest(
    { articles: app.articles, digests: app.digests, lastSentAt: (id) => app.lastSentAt(id), clock: () => issueDate },
    { newsletter, site: config.site, articles: await app.articles.getMany(first.articleIds) },
  );
}
