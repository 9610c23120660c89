/**
 * The newsroom's verbs on the command line, run as a user runs them: a draft made from chosen articles, a note file
 * and a subject; the list; a test to two addresses caught by a real SMTP server; a schedule read in the newsletter's
 * time zone; feeds status before and after a failing poll; and bad flags explained in words with exit code 2.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { ingestSources } from '../../src/articles/ingest-sources.js';
import { loadConfig } from '../../src/config.js';
import { feedIdFor } from '../../src/feeds/feed-state.js';
import { pollFeed } from '../../src/feeds/poll-feed.js';
import { silentLogger } from '../../src/logger.js';
import { runWorkers, type RunningWorkers } from '../../workers/run-workers.js';
import { runLetterpress } from '../helpers/cli.js';
import { ingestSampleFeed } from '../helpers/sample-feed.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';
import { waitUntil } from '../helpers/wait-until.js';

const DEAD_FEED = 'http://127.0.0.1:9/feed.xml?key=secret-key';

describe('the newsroom on the command line', () => {
  let env: Record<string, string>;
  let app: App;
  let workers: RunningWorkers;
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;
  let cleanup: () => Promise<void>;
  let dir: string;

  beforeAll(async () => {
    const redis = await openTestRedis('cli-newsroom');
    cleanup = redis.cleanup;
    sink = await startSmtpSink();
    dir = mkdtempSync(join(tmpdir(), 'lp-cli-newsroom-'));
    const configPath = join(dir, 'letterpress.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        site: { timeZone: 'UTC' },
        newsletters: [
          {
            id: 'daily',
            name: 'The Daily Digest',
            feeds: [{ url: DEAD_FEED, interval: '30m' }],
            schedule: { cron: '0 6 * * *', timeZone: 'Europe/London', mode: 'draft' },
          },
        ],
      }),
    );
    env = {
      REDIS_URL: TEST_REDIS_URL,
      LETTERPRESS_PREFIX: redis.prefix,
      SMTP_URL: sink.url,
      LETTERPRESS_CONFIG: configPath,
    };
    app = await createApp(loadConfig(env), { logger: silentLogger });
    await ingestSampleFeed(app);
    workers = await runWorkers(app, { kinds: ['transactional'], handleSignals: false });
  });
  afterAll(async () => {
    await workers?.close();
    await app?.close();
    await sink?.close();
    await cleanup();
  });

  it('makes a draft of chosen articles in order with a subject and a note, lists it, tests it and schedules it', async () => {
    const [newest, second, third] = await app.articles.list(3);
    const note = join(dir, 'note.md');
    writeFileSync(note, 'Gales tonight: **stay in**.');
    const created = await runLetterpress(
      [
        'digest',
        'create',
        '--subject',
        'Gales tonight',
        '--note',
        note,
        '--article',
        third!.id,
        '--article',
        newest!.id,
        '--json',
      ],
      env,
    );
    expect(created.code).toBe(0);
    const draft = created.json as { id: string; status: string; subject: string; articles: number };
    expect(draft).toMatchObject({ status: 'draft', subject: 'Gales tonight', articles: 2 });
    expect((await app.digests.get(draft.id))?.articleIds).toEqual([third!.id, newest!.id]);
    expect(second).toBeDefined();

    const listed = await runLetterpress(['digest', 'list', '--newsletter', 'daily', '--json'], env);
    expect((listed.json as { digests: { id: string; status: string }[] }).digests).toEqual([
      expect.objectContaining({ id: draft.id, status: 'draft' }),
    ]);

    const tested = await runLetterpress(
      ['digest', 'test', draft.id, '--to', 'ed@example.org', '--to', 'sub@example.org'],
      env,
    );
    expect(tested.code).toBe(0);
    await waitUntil('two test copies', () => sink.messages.length >= 2);
    const copies = await Promise.all(sink.messages.map((message) => simpleParser(message.raw)));
    expect(copies.map((copy) => copy.subject)).toEqual(['[Test] Gales tonight', '[Test] Gales tonight']);
    expect(String(copies[0]?.html)).toContain('<strong>stay in</strong>');
    expect((await app.digests.get(draft.id))?.counts.delivered).toBe(0);

    // No offset: read in the newsletter's zone (its schedule's Europe/London), a summer time one hour ahead of UTC.
    const now = new Date();
    const year = now.getUTCMonth() < 6 ? now.getUTCFullYear() : now.getUTCFullYear() + 1; // the next 1 July
    const scheduled = await runLetterpress(
      ['digest', 'schedule', draft.id, '--at', `${year}-07-01T06:30`, '--json'],
      env,
    );
    expect(scheduled.code).toBe(0);
    expect(scheduled.json).toMatchObject({
      status: 'scheduled',
      scheduledFor: `${year}-07-01T05:30:00.000Z`,
      timeZone: 'Europe/London',
    });
  });

  it('explains bad flags in words with exit code 2 and changes nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['digest', 'create', '--article', 'not-an-id'], /^letterpress: --article: must be an article id/],
      [
        ['digest', 'create', '--note', join(dir, 'missing.md')],
        /^letterpress: --note: cannot read .*missing\.md \(ENOENT\)/,
      ],
      [
        ['digest', 'test', 'daily-20990101-000000-abcd', '--to', 'not an address'],
        /^letterpress: --to: must be an email address/,
      ],
      [
        ['digest', 'schedule', 'daily-20990101-000000-abcd', '--at', 'next tuesday'],
        /^letterpress: --at: "next tuesday" is not a time/,
      ],
    ];
    const before = await app.digests.list(100);
    for (const [args, message] of cases) {
      const result = await runLetterpress(args, env);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
    expect(await app.digests.list(100)).toEqual(before);
  });

  it('reports each configured feed after a failing poll: the reason, failures in a row, its key never shown', async () => {
    await pollFeed(
      {
        feeds: app.feeds,
        ingest: (sources, options) =>
          ingestSources(
            { store: app.articles, logger: silentLogger, maxBytes: 1e6, fetchTimeoutMs: 2000 },
            sources,
            options,
          ),
        clock: () => new Date(),
        logger: silentLogger,
      },
      { feedId: feedIdFor(DEAD_FEED), url: DEAD_FEED, intervalMs: 30 * 60_000 },
    );
    const failing = await runLetterpress(['feeds', 'status', '--json'], env);
    expect(failing.code).toBe(1); // a failing feed makes the status command fail, for monitoring
    const [feed] = (failing.json as { feeds: { url: string; state: Record<string, unknown> }[] }).feeds;
    expect(feed).toMatchObject({
      url: 'http://127.0.0.1:9/feed.xml?…',
      // The feed's address is loopback, which the guarded fetch refuses: a failure with its reason, the key unshown.
      state: {
        lastOutcome: 'failed',
        consecutiveFailures: 1,
        lastError: expect.stringMatching(/refused 127\.0\.0\.1:9/),
      },
    });
    expect(failing.stdout).not.toContain('secret-key');
  });
});
