/** The letterpress command as a user drives it: JSON results, one-line reasons, exit codes, the whole job. */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { repoRoot, runLetterpress } from '../helpers/cli.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';

const SAMPLE_FEED = 'src/demo/sample-feed.xml';

describe('letterpress CLI', () => {
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    const redis = await openTestRedis('cli');
    cleanup = redis.cleanup;
    sink = await startSmtpSink();
    env = { REDIS_URL: TEST_REDIS_URL, LETTERPRESS_PREFIX: redis.prefix, SMTP_URL: sink.url };
  });

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker?.once('exit', resolve));
      worker.kill('SIGTERM');
      await exited;
    }
    await sink.close();
    await cleanup();
  });

  it('explains an unknown command and a bad flag in one line with a usage exit code', async () => {
    const unknown = await runLetterpress(['frobnicate', '--json'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.json).toEqual({
      error: { code: 'input_invalid', message: expect.stringContaining('unknown command') },
    });

    const badEmail = await runLetterpress(['subscribers', 'add', 'not-an-address'], env);
    expect(badEmail.code).toBe(2);
    expect(badEmail.stderr).toMatch(/^letterpress: email: must be an email address/);

    const badSince = await runLetterpress(['digest', 'create', '--newsletter', 'daily', '--since', 'yesterday'], env);
    expect(badSince.code).toBe(2);
    expect(badSince.stderr).toMatch(/^letterpress: --since must be an ISO 8601 date-time/);

    const badLimit = await runLetterpress(['articles', 'list', '--limit', 'ten'], env);
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toBe('letterpress: --limit must be a positive whole number up to 1000\n');

    const unknownFlag = await runLetterpress(['digest', 'status', '--frobnicate'], env);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toMatch(/^letterpress: unknown option '--frobnicate'\n$/);

    const unknownNewsletter = await runLetterpress(['digest', 'create', '--newsletter', 'weekly'], env);
    expect(unknownNewsletter.code).toBe(1);
    expect(unknownNewsletter.stderr).toMatch(/newsletter "weekly" is not configured/);
  });

  it('prints usage for every command, its version, and the commands of a group named alone', async () => {
    const top = await runLetterpress(['--help'], env);
    expect(top.code).toBe(0);
    for (const group of ['ingest', 'articles', 'subscribers', 'digest', 'worker', 'serve', 'demo']) {
      expect(top.stdout).toContain(group);
    }
    const group = await runLetterpress(['digest'], env);
    expect(group.code).toBe(0);
    for (const verb of ['create', 'preview', 'send', 'status', 'pause', 'resume', 'cancel']) {
      expect(group.stdout).toMatch(new RegExp(`^  ${verb}\\b`, 'm'));
    }
    const send = await runLetterpress(['digest', 'send', '--help'], env);
    expect(send.code).toBe(0);
    expect(send.stdout).toMatch(/^Usage: letterpress digest send \[options\] <id>/);
    expect(send.stdout).toContain('--wait');

    const version = await runLetterpress(['--version'], env);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('removes a reader at once and never re-adds them unless they opted in again', async () => {
    expect((await runLetterpress(['subscribers', 'add', 'leaver@example.org'], env)).code).toBe(0);
    const removed = await runLetterpress(['subscribers', 'remove', 'leaver@example.org', '--json'], env);
    expect(removed.json).toMatchObject({ status: 'unsubscribed', newsletters: [] });

    // --json may stand anywhere on the line.
    const readded = await runLetterpress(['--json', 'subscribers', 'add', 'leaver@example.org'], env);
    expect(readded.code).toBe(1);
    expect(readded.json).toMatchObject({ status: 'unsubscribed', refused: expect.stringContaining('--resubscribe') });

    const optedIn = await runLetterpress(['subscribers', 'add', 'leaver@example.org', '--resubscribe', '--json'], env);
    expect(optedIn.code).toBe(0);
    expect(optedIn.json).toMatchObject({ status: 'active', newsletters: ['daily'] });
    // Leave the list as the next test expects it: this reader out again.
    await runLetterpress(['subscribers', 'remove', 'leaver@example.org'], env);

    const unknown = await runLetterpress(['subscribers', 'remove', 'nobody@example.org'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no subscriber with that address/);
  });

  it('ingests a feed once: a second run finds everything unchanged; a missing file and a URL on Redis are rejected with their reasons', async () => {
    const first = await runLetterpress(['ingest', SAMPLE_FEED, '--json'], env);
    expect(first.code).toBe(0);
    expect(first.json).toMatchObject({ ingested: 12, updated: 0, unchanged: 0, rejected: [] });

    const redisUrl = 'http://127.0.0.1:6379/';
    const again = await runLetterpress(['ingest', SAMPLE_FEED, 'no/such/feed.xml', redisUrl, '--json'], env);
    expect(again.code).toBe(0);
    expect(again.json).toMatchObject({
      ingested: 0,
      unchanged: 12,
      rejected: [
        { source: 'no/such/feed.xml', reason: expect.any(String) },
        {
          source: redisUrl,
          reason: expect.stringMatching(/refused 127\.0\.0\.1:6379: 127\.0\.0\.1 is a loopback address/),
        },
      ],
    });

    const list = await runLetterpress(['articles', 'list', '--json'], env);
    expect((list.json as { articles: unknown[] }).articles).toHaveLength(12);
  });

  it('creates, previews and sends a digest that each subscriber receives once', { timeout: 180_000 }, async () => {
    for (const email of ['one@example.org', 'two@example.org', 'three@example.org']) {
      const added = await runLetterpress(['subscribers', 'add', email, '--json'], env);
      expect(added.code).toBe(0);
    }
    const created = await runLetterpress(['digest', 'create', '--newsletter', 'daily', '--json'], env);
    expect(created.code).toBe(0);
    const { id, articles } = created.json as { id: string; articles: number };
    expect(articles).toBe(12);

    const text = await runLetterpress(['digest', 'preview', id, '--format', 'text'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/unsubscribe/i);
    const eml = await runLetterpress(['digest', 'preview', id, '--format', 'eml'], env);
    const preview = await simpleParser(eml.stdout);
    expect(preview.headers.get('list')).toMatchObject({ unsubscribe: { url: expect.stringMatching(/^https:\/\//) } });
    expect(eml.stdout).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r$/m);

    worker = spawn(process.execPath, ['bin/letterpress.js', 'worker'], {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: 'ignore',
    });
    const sent = await runLetterpress(['digest', 'send', id, '--wait', '--timeout', '60', '--json'], env);
    expect(sent.stderr).toBe('');
    expect(sent.json).toEqual({ digestId: id, status: 'sent', recipients: 3, delivered: 3, failed: 0, skipped: 0 });
    expect(sink.messages.map((m) => m.envelopeTo[0]).sort()).toEqual([
      'one@example.org',
      'three@example.org',
      'two@example.org',
    ]);

    const again = await runLetterpress(['digest', 'send', id, '--wait', '--json'], env);
    expect(again.json).toMatchObject({ status: 'sent', delivered: 3 });
    expect(sink.messages).toHaveLength(3);

    const status = await runLetterpress(['digest', 'status', id, '--json'], env);
    expect(status.json).toMatchObject({ id, status: 'sent', counts: { recipients: 3, delivered: 3 } });
  });
});
