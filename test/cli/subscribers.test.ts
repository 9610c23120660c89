/**
 * `letterpress subscribers import|export|list|count|suppress|unsuppress` as an editor runs them: what the files hold
 * afterwards, what the command says, and its exit code.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { subscriberLinks } from '../../src/subscribers/tokens.js';
import { runLetterpress } from '../helpers/cli.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';

let dir: string;
let env: Record<string, string>;
let app: App;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lp-subscribers-cli-'));
  const config = join(dir, 'letterpress.json');
  writeFileSync(
    config,
    JSON.stringify({
      newsletters: [
        { id: 'daily', name: 'The Daily Digest' },
        { id: 'culture', name: 'Culture Weekly' },
      ],
    }),
  );
  const redis = await openTestRedis('subscribers-cli');
  cleanup = redis.cleanup;
  env = { REDIS_URL: TEST_REDIS_URL, LETTERPRESS_PREFIX: redis.prefix, LETTERPRESS_CONFIG: config };
  app = await createApp(loadConfig(env), { logger: silentLogger });
});
afterAll(async () => {
  await app.close();
  await cleanup();
});

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const run = (args: string[]) => runLetterpress(args, env, 180_000);

describe('subscribers import', () => {
  it('imports 100,000 confirmed rows and reports exactly the 1% that are bad, each with its line and why', async () => {
    const lines = ['email,name,newsletters'];
    const expected: { line: string; reason: RegExp }[] = [];
    for (let i = 0; i < 100_000; i += 1) {
      const line = lines.length + 1;
      if (i % 100 === 37) {
        const kind = ((i / 100) % 4) | 0;
        if (kind === 0) {
          lines.push(`not-an-address-${i},Bad Address,daily`);
          expected.push({ line: String(line), reason: /^bad address: / });
        } else if (kind === 1) {
          lines.push(`bulk-${i}@example.org,Unknown,weekly`);
          expected.push({ line: String(line), reason: /^unknown newsletter: weekly$/ });
        } else if (kind === 2) {
          lines.push(`bulk-${i - 1}@EXAMPLE.org,Twice,daily`);
          expected.push({ line: String(line), reason: /^duplicate: / });
        } else {
          lines.push(`bulk-${i}@example.org,"Line\u0007Break",daily`);
          expected.push({ line: String(line), reason: /^bad name: / });
        }
      } else {
        lines.push(`bulk-${i}@example.org,Reader ${i},${i % 2 === 0 ? 'daily' : 'daily;culture'}`);
      }
    }
    const csv = file('bulk.csv', `${lines.join('\n')}\n`);
    const rejects = join(dir, 'rejects.csv');

    const result = await run(['subscribers', 'import', csv, '--confirmed', '--rejects', rejects, '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.json).toEqual({
      imported: 99_000,
      created: 99_000,
      rejected: 1_000,
      confirmationsQueued: 0,
      rejectsFile: rejects,
    });

    const reported = parse(readFileSync(rejects), { columns: true }) as { line: string; reason: string }[];
    expect(reported.map((r) => r.line)).toEqual(expected.map((e) => e.line));
    reported.forEach((row, index) => expect(row.reason).toMatch(expected[index]!.reason));
    expect(await app.subscribers.countActive('daily')).toBe(99_000);
    expect((await app.subscribers.getByEmail('bulk-1@example.org'))?.newsletters).toEqual(['daily', 'culture']);
    expect((await app.subscribers.getByEmail('bulk-1@example.org'))?.name).toBe('Reader 1');
    expect(await app.subscribers.getByEmail('not-an-address-37')).toBeUndefined();
  });

  it('without --confirmed, readers stay pending and get a confirmation; suppressed and departed ones are rejected', async () => {
    await app.subscribers.suppress('bounced@example.net', '550 5.1.1 user unknown');
    const { subscriber } = await app.subscribers.add({
      email: 'left@example.net',
      newsletterIds: ['daily'],
      status: 'active',
    });
    await app.subscribers.unsubscribe(subscriber.id);
    const csv = file(
      'pending.csv',
      '\uFEFFEmail,Newsletters\nfresh@example.net,culture\nbounced@example.net,\nleft@example.net,daily\n\n',
    );
    const result = await run(['subscribers', 'import', csv, '--json']);
    expect(result.code).toBe(0);
    expect(result.json).toMatchObject({ imported: 1, created: 1, rejected: 2, confirmationsQueued: 1 });
    expect(result.stderr).toContain('rejected line 3: suppressed');
    expect(result.stderr).toContain('rejected line 4: previously unsubscribed');
    expect((await app.subscribers.getByEmail('fresh@example.net'))?.status).toBe('pending');
    expect(await app.subscribers.isActive(subscriber.id, 'daily')).toBe(false);
    const jobs = await app.queues.queues.transactional.getJobs(['waiting', 'delayed']);
    const fresh = await app.subscribers.getByEmail('fresh@example.net');
    expect(jobs.map((job) => job.data)).toContainEqual(
      expect.objectContaining({ kind: 'confirmation', subscriberId: fresh?.id }),
    );
  });

  it('explains a file it cannot use, in one line, with a usage exit code, and imports nothing', async () => {
    const noEmail = await run(['subscribers', 'import', file('no-email.csv', 'name\nAda\n'), '--json']);
    expect(noEmail.code).toBe(2);
    expect(noEmail.stderr).toMatch(/the CSV header must hold an email column \(found: name\)/);
    const missing = await run(['subscribers', 'import', join(dir, 'nowhere.csv')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*nowhere\.csv/);
    const allBad = await run(['subscribers', 'import', file('bad.csv', 'email\nnope\n"broken,\n'), '--confirmed']);
    expect(allBad.code).toBe(1);
    expect(allBad.stdout).toContain('imported 0');
    expect(await app.subscribers.getByEmail('nope')).toBeUndefined();
  });
});

describe('subscribers export, list and count', () => {
  // A small installation of its own: these commands walk every record, and the 100,000 above would only slow them.
  let small: App;
  let smallCleanup: () => Promise<void>;
  let smallEnv: Record<string, string>;
  beforeAll(async () => {
    const redis = await openTestRedis('subscribers-cli-small');
    smallCleanup = redis.cleanup;
    smallEnv = { ...env, LETTERPRESS_PREFIX: redis.prefix };
    small = await createApp(loadConfig(smallEnv), { logger: silentLogger });
    await small.subscribers.add({ email: 'plain@example.com', newsletterIds: ['culture'], status: 'active' });
    await small.subscribers.add({ email: 'daily-only@example.com', newsletterIds: ['daily'], status: 'active' });
    await small.subscribers.requestSubscription({
      email: 'waiting@example.com',
      newsletterIds: ['culture'],
      isConfirmationSent: false,
    });
  });
  afterAll(async () => {
    await small.close();
    await smallCleanup();
  });
  const runSmall = (args: string[]) => runLetterpress(args, smallEnv, 60_000);

  it('exports CSV a spreadsheet cannot run: cells that start a formula are neutralised', async () => {
    await small.subscribers.add({
      email: 'formula@example.com',
      name: '=HYPERLINK("http://evil.example","click")',
      newsletterIds: ['culture'],
      status: 'active',
    });
    await small.subscribers.add({
      email: 'plus@example.com',
      name: '+1 555 0100',
      newsletterIds: ['culture'],
      status: 'active',
    });
    await small.subscribers.add({
      email: 'at@example.com',
      name: '@SUM(A1)',
      newsletterIds: ['culture'],
      status: 'active',
    });
    await small.subscribers.add({
      email: 'minus@example.com',
      name: '-2+3',
      newsletterIds: ['culture'],
      status: 'active',
    });
    const out = join(dir, 'export.csv');
    const result = await runSmall([
      'subscribers',
      'export',
      '--newsletter',
      'culture',
      '--status',
      'active',
      '--out',
      out,
      '--json',
    ]);
    expect(result.code).toBe(0);
    const rows = parse(readFileSync(out), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0] ?? {})).toEqual(['id', 'email', 'name', 'status', 'newsletters', 'created_at']);
    const byEmail = new Map(rows.map((row) => [row.email, row]));
    expect(byEmail.get('formula@example.com')?.name).toBe('\'=HYPERLINK("http://evil.example","click")');
    expect(byEmail.get('plus@example.com')?.name).toBe("'+1 555 0100");
    expect(byEmail.get('at@example.com')?.name).toBe("'@SUM(A1)");
    expect(byEmail.get('minus@example.com')?.name).toBe("'-2+3");
    expect(rows.every((row) => row.status === 'active' && (row.newsletters ?? '').split(';').includes('culture'))).toBe(
      true,
    );
    expect(result.json).toEqual({ rows: rows.length, out });
    expect(rows.length).toBe(5);

    const refused = await runSmall(['subscribers', 'export', '--json']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--json needs --out FILE');
  });

  it('lists suppressed readers with why and when, and counts readers by status', async () => {
    await small.subscribers.add({ email: 'complainer@example.com', newsletterIds: ['daily'], status: 'active' });
    expect((await runSmall(['subscribers', 'suppress', 'complainer@example.com'])).code).toBe(2);
    const suppressed = await runSmall([
      'subscribers',
      'suppress',
      'complainer@example.com',
      '--reason',
      'complained by letter',
    ]);
    expect(suppressed.stdout).toContain('suppressed: nothing more will be sent to this address');
    const list = await runSmall(['subscribers', 'list', '--status', 'suppressed', '--search', 'COMPLAINER', '--json']);
    expect(list.json).toEqual([
      expect.objectContaining({
        email: 'complainer@example.com',
        status: 'suppressed',
        suppression: { reason: 'by hand: complained by letter', at: expect.any(String) },
      }),
    ]);
    const text = await runSmall(['subscribers', 'list', '--status', 'suppressed', '--search', 'complainer']);
    expect(text.stdout).toMatch(
      /complainer@example\.com\tsuppressed\tdaily\t.*suppressed .*: by hand: complained by letter/,
    );

    const counted = await runSmall(['subscribers', 'count', '--newsletter', 'culture', '--json']);
    expect(counted.json).toMatchObject({ active: 5, pending: 1, unsubscribed: 0, suppressed: 0, total: 6 });
    const bad = await runSmall(['subscribers', 'list', '--status', 'gone', '--limit', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--status must be one of pending, active, unsubscribed, suppressed/);
    expect(bad.stderr).toMatch(/--limit must be a positive whole number/);

    const lifted = await runSmall(['subscribers', 'unsuppress', 'complainer@example.com']);
    expect(lifted.stdout).toMatch(
      /lifted the suppression of .* \(by hand: complained by letter\); the reader is now unsubscribed/,
    );
  });
});

describe('subscribers unsubscribe-mail (the List-Unsubscribe mailto, piped in by the relay)', () => {
  const request = (subject: string) =>
    [
      'From: Mara Quill <mara@example.net>',
      'To: unsubscribe@harbourgazette.example',
      `Subject: ${subject}`,
      'Date: Tue, 01 Dec 2026 08:00:00 +0000',
      'Message-ID: <request-1@example.net>',
      '',
      'This message will unsubscribe you.',
      '',
    ].join('\r\n');

  it('unsubscribes the reader its subject’s token names, from that newsletter only', async () => {
    const { subscriber } = await app.subscribers.add({
      email: 'mail.leaver@example.org',
      newsletterIds: ['daily', 'culture'],
      status: 'active',
    });
    const token = subscriberLinks(app.config.site, app.config.secret, {
      subscriberId: subscriber.id,
      newsletterId: 'daily',
    })
      .unsubscribeUrl.split('/')
      .pop()!;
    const left = await run([
      'subscribers',
      'unsubscribe-mail',
      file('leave.eml', request(`unsubscribe ${token}`)),
      '--json',
    ]);
    expect(left.code, left.stderr).toBe(0);
    expect(left.json).toEqual({ kind: 'done', subscriberId: subscriber.id, newsletterId: 'daily' });
    expect(await app.subscribers.isActive(subscriber.id, 'daily')).toBe(false);
    expect(await app.subscribers.isActive(subscriber.id, 'culture')).toBe(true);

    // A forged token, a subject without one, an empty file: ignored (exit 0, so a relay never bounces to a forger).
    const stayer = (
      await app.subscribers.add({ email: 'mail.stayer@example.org', newsletterIds: ['daily'], status: 'active' })
    ).subscriber;
    const stayerToken = subscriberLinks(app.config.site, app.config.secret, {
      subscriberId: stayer.id,
      newsletterId: 'daily',
    })
      .unsubscribeUrl.split('/')
      .pop()!;
    const forged = `${stayerToken.slice(0, -4)}AAAA`;
    for (const [name, text, reason] of [
      ['forged.eml', request(`unsubscribe ${forged}`), /the token is not valid/],
      ['plain.eml', request('Please take me off your list'), /the subject holds no unsubscribe token/],
      ['crlf.eml', request(`unsubscribe\r\nBcc: ${stayerToken}`), /no unsubscribe token|not valid/],
      ['empty.eml', '', /the message is empty/],
    ] as const) {
      const ignored = await run(['subscribers', 'unsubscribe-mail', file(name, text)]);
      expect(ignored.code, ignored.stderr).toBe(0);
      expect(ignored.stdout).toMatch(reason);
    }
    expect(await app.subscribers.isActive(stayer.id, 'daily')).toBe(true);

    const huge = await run([
      'subscribers',
      'unsubscribe-mail',
      file('huge.eml', request('x') + 'y'.repeat(300 * 1024)),
    ]);
    expect(huge.code).not.toBe(0);
    expect(huge.stderr).toMatch(/file: over 256 KB/);
    const missing = await run(['subscribers', 'unsubscribe-mail', join(dir, 'no-such.eml')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/file: cannot read/);
  });
});
