/**
 * The operator's commands as a person on call runs them: `doctor` on a Redis that would evict queued work, the queue
 * commands on a queue with a failed job, and a digest whose newsletter the workers do not know: `digest status` names
 * the failed job's reason and only a hint that would work, `digest send --wait` stops waiting and says why, and after
 * the fix the digest goes out.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { findNewsletter, loadConfig } from '../../src/config.js';
import { resumeDigest } from '../../src/delivery/control-digest.js';
import { createDigest } from '../../src/digests/create-digest.js';
import { silentLogger } from '../../src/logger.js';
import { startPrivateRedis, type PrivateRedis } from '../../src/private-redis.js';
import { runWorkers, type RunningWorkers } from '../../workers/run-workers.js';
import { runLetterpress } from '../helpers/cli.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';
import { waitUntil } from '../helpers/wait-until.js';
import { rigArticles } from '../reliability/send-rig.js';

interface Finding {
  area: string;
  name: string;
  status: string;
  detail: string;
  fix?: string;
}

describe('letterpress doctor', () => {
  let redis: PrivateRedis;
  let folder: string;

  beforeAll(async () => {
    redis = await startPrivateRedis({ appendonly: false, extraArgs: ['--maxmemory-policy', 'allkeys-lru'] });
    folder = await mkdtemp(path.join(tmpdir(), 'lp-doctor-'));
  });
  afterAll(async () => {
    await redis?.close();
    await rm(folder, { recursive: true, force: true });
  });

  it('on a Redis that evicts keys says what to fix, and lists the DNS records for the configured DKIM key', async () => {
    const sink = await startSmtpSink();
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyFile = path.join(folder, 'dkim.pem');
    await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    try {
      const result = await runLetterpress(['doctor', '--json'], {
        REDIS_URL: redis.url,
        SMTP_URL: sink.url,
        DKIM_DOMAIN: 'harbourgazette.example',
        DKIM_SELECTOR: 'lp2026',
        DKIM_PRIVATE_KEY: keyFile,
        LETTERPRESS_SECRET: 'a-proper-secret-of-many-characters-0123456789abcdef',
      });
      expect(result.code).toBe(1);
      const report = result.json as { findings: Finding[]; dnsRecords: { name: string; value: string }[] };
      const find = (area: string, name: string) => report.findings.find((f) => f.area === area && f.name === name);
      expect(find('redis', 'maxmemory-policy')).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('allkeys-lru'),
        fix: expect.stringContaining('CONFIG SET maxmemory-policy noeviction'),
      });
      expect(find('redis', 'persistence')).toMatchObject({
        status: 'warn',
        fix: expect.stringContaining('appendonly yes'),
      });
      expect(find('redis', 'version')).toMatchObject({ status: 'ok' });
      expect(find('relay', 'EHLO')).toMatchObject({ status: 'ok', detail: expect.stringContaining('PIPELINING') });
      expect(find('relay', 'TLS')).toMatchObject({ status: 'ok', detail: 'no TLS, on this machine' });
      expect(find('secrets', 'LETTERPRESS_SECRET')).toMatchObject({ status: 'ok' });
      expect(find('secrets', 'OPS_TOKENS')).toMatchObject({ status: 'warn' });

      const dkimValue = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
      expect(report.dnsRecords).toEqual([
        { kind: 'dkim', name: 'lp2026._domainkey.harbourgazette.example', value: dkimValue },
        expect.objectContaining({ kind: 'spf', name: 'harbourgazette.example', value: 'v=spf1 mx ~all' }),
        expect.objectContaining({
          kind: 'dmarc',
          name: '_dmarc.harbourgazette.example',
          value: expect.stringMatching(/^v=DMARC1; p=none/),
        }),
      ]);
      // Nothing is published for a .example domain: each record is a warning that says what to publish.
      expect(find('dns', 'DKIM')).toMatchObject({ status: 'warn', fix: expect.stringContaining(dkimValue) });

      const text = await runLetterpress(['doctor'], { REDIS_URL: redis.url, SMTP_URL: sink.url });
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/^FAIL {2}redis maxmemory-policy: maxmemory-policy is allkeys-lru/m);
      expect(text.stdout).toMatch(/^ {6}fix: run `redis-cli CONFIG SET maxmemory-policy noeviction`/m);
      expect(text.stdout).toMatch(/^1 to fix, \d+ warning\(s\)$/m);
    } finally {
      await sink.close();
    }
  }, 60_000);
});

describe('queue and digest commands for the person on call', () => {
  let app: App;
  let cleanup: () => Promise<void>;
  let folder: string;
  let env: Record<string, string>;
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;
  let workers: RunningWorkers | undefined;

  beforeAll(async () => {
    const redis = await openTestRedis('ops-cli');
    cleanup = redis.cleanup;
    folder = await mkdtemp(path.join(tmpdir(), 'lp-ops-cli-'));
    sink = await startSmtpSink();
    await writeFile(
      path.join(folder, 'both.json'),
      JSON.stringify({
        newsletters: [
          { id: 'daily', name: 'Daily' },
          { id: 'culture', name: 'Culture Weekly' },
        ],
      }),
    );
    env = { REDIS_URL: TEST_REDIS_URL, LETTERPRESS_PREFIX: redis.prefix, SMTP_URL: sink.url };
    // The workers of this test run in this process, configured without the newsletter `culture`.
    app = await createApp(loadConfig(env), { logger: silentLogger });
  });
  afterAll(async () => {
    await workers?.close();
    await app?.close();
    await sink?.close();
    await cleanup();
    await rm(folder, { recursive: true, force: true });
  });

  it('a digest the workers cannot deliver: status names the failed job and the fix, --wait stops and says why', async () => {
    const both = { ...env, LETTERPRESS_CONFIG: path.join(folder, 'both.json') };
    // An editor's digest of `culture`, made where the newsletter is configured.
    const editorApp = await createApp(loadConfig(both), { logger: silentLogger });
    let digestId: string;
    try {
      await editorApp.subscribers.addMany(
        ['ana@example.org', 'ben@example.org', 'cy@example.org'].map((email) => ({
          email,
          newsletterIds: ['culture'],
          status: 'active' as const,
        })),
      );
      const articles = rigArticles();
      const digest = await createDigest(
        {
          articles: { listPublishedSince: async () => articles },
          digests: editorApp.digests,
          lastSentAt: async () => undefined,
          clock: () => new Date(),
        },
        { newsletter: findNewsletter(editorApp.config, 'culture'), site: editorApp.config.site },
      );
      digestId = digest.id;
    } finally {
      await editorApp.close();
    }
    // Sent while no worker runs: the editor is told so.
    const queued = await runLetterpress(['digest', 'send', digestId], both);
    expect(queued.stdout).toContain('no worker is running: start `letterpress worker` to deliver it');
    workers = await runWorkers(app, { handleSignals: false });

    const waited = await runLetterpress(['digest', 'send', digestId, '--wait', '--timeout', '60'], both);
    expect(waited.code).toBe(1);
    expect(waited.stdout).toMatch(
      new RegExp(
        `^digest ${digestId}: sending; recipients 3, delivered 0, failed 0, skipped 0\\nstalled: .*newsletter_not_found`,
      ),
    );
    // Progress is plain lines on stderr when it is not a terminal.
    expect(waited.stderr).toMatch(new RegExp(`^digest ${digestId}: sending; settled 0 of 3 `, 'm'));

    const status = await runLetterpress(['digest', 'status', digestId], both);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(
      `job failed: deliver-${digestId}-1 after 1 attempt(s): newsletter_not_found: newsletter "culture" is not configured (known: daily)`,
    );
    const hint = /^hint: (.*)$/m.exec(status.stdout)?.[1] ?? '';
    expect(hint).toContain('resuming cannot help until the configuration is fixed');
    expect(hint).toContain(`then run \`letterpress digest resume ${digestId}\``);
    // Seen with the workers' own configuration, the newsletter itself is named as what is missing.
    const here = await runLetterpress(['digest', 'status', digestId, '--json'], env);
    expect(here.json).toMatchObject({
      hint: expect.stringContaining('newsletter "culture" is not in this configuration'),
      work: { failedJobs: [{ reason: expect.stringContaining('newsletter_not_found') }] },
    });

    // The fix: workers that know the newsletter, then resume (as the hint says) and wait.
    await workers.close();
    await app.close();
    app = await createApp(loadConfig(both), { logger: silentLogger });
    workers = await runWorkers(app, { handleSignals: false });
    await resumeDigest(app, { digestId });
    const sent = await runLetterpress(['digest', 'send', digestId, '--wait', '--timeout', '60'], both);
    expect(sent.code).toBe(0);
    expect(sent.stdout).toContain(`digest ${digestId}: sent; recipients 3, delivered 3`);
    expect(sink.messages.map((message) => message.envelopeTo[0]).sort()).toEqual([
      'ana@example.org',
      'ben@example.org',
      'cy@example.org',
    ]);
  }, 120_000);

  it('lists failed jobs with their reasons, retries them, and pauses and resumes a queue for every worker', async () => {
    await app.queues.queues.deliver.add(
      'deliver',
      { digestId: 'daily-20261127-060000-ab12' },
      { jobId: 'deliver-old-1' },
    );
    await waitUntil('the old job to fail', async () => (await app.queues.queues.deliver.getFailedCount()) === 1);

    const failed = await runLetterpress(['queue', 'failed', '--queue', 'deliver', '--json'], env);
    expect(failed.code).toBe(0);
    expect(failed.json).toEqual({
      jobs: [
        expect.objectContaining({
          queue: 'deliver',
          id: 'deliver-old-1',
          digestId: 'daily-20261127-060000-ab12',
          reason: expect.stringContaining('deliver job payload does not match its schema: fromId'),
        }),
      ],
    });

    const paused = await runLetterpress(['queue', 'pause', '--queue', 'deliver'], env);
    expect(paused.stdout.trim()).toBe('deliver: paused');
    expect(await app.queues.queues.deliver.isPaused()).toBe(true);
    const status = await runLetterpress(['queue', 'status', '--json'], env);
    const queues = (status.json as { queues: { name: string; isPaused: boolean; completedTotal: number }[] }).queues;
    expect(queues.map((queue) => [queue.name, queue.isPaused])).toEqual([
      ['fanout', false],
      ['deliver', true],
      ['transactional', false],
      ['automation', false],
    ]);
    expect(queues.find((queue) => queue.name === 'deliver')?.completedTotal).toBeGreaterThanOrEqual(1);

    const retried = await runLetterpress(['queue', 'retry-failed', '--queue', 'deliver', '--json'], env);
    expect(retried.json).toEqual({ retried: { deliver: 1 } });
    expect(await app.queues.queues.deliver.getFailedCount()).toBe(0);
    expect(await app.queues.queues.deliver.getWaitingCount()).toBe(1);

    const resumed = await runLetterpress(['queue', 'resume'], env);
    expect(resumed.stdout.trim().split('\n')).toEqual([
      'fanout: running',
      'deliver: running',
      'transactional: running',
      'automation: running',
    ]);
    await waitUntil(
      'the retried job to fail again',
      async () => (await app.queues.queues.deliver.getFailedCount()) === 1,
    );

    const unknown = await runLetterpress(['queue', 'failed', '--queue', 'mail'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('letterpress: --queue must be one of fanout, deliver, transactional, automation\n');
  }, 60_000);
});
