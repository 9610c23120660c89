/**
 * The queue dashboard in a real browser, as an operator on call uses it: it asks for the operator's login, shows every
 * queue of the registry, opens a queue's failed jobs with their reasons, and loads nothing from anywhere but our
 * own origin (its page links a web font that we remove), sets no cookie and breaks no rule of its policy.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { startHttpServer, type HttpServer } from '../../src/http/server.js';
import { silentLogger } from '../../src/logger.js';
import { runWorkers } from '../../workers/run-workers.js';
import { HAS_CHROMIUM, launchBrowser, saveScreenshot, watchContext } from '../helpers/browser.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait-until.js';

const OPS = { username: 'ada', password: 'ada-ops-token-0123456789abcdef-0123456789' };

describe.skipIf(!HAS_CHROMIUM)('the queue dashboard in Chromium', () => {
  let app: App;
  let server: HttpServer;
  let browser: Browser;
  let cleanup: () => Promise<void>;
  let base: string;

  beforeAll(async () => {
    const redis = await openTestRedis('e2e-ops');
    cleanup = redis.cleanup;
    app = await createApp(
      loadConfig({
        REDIS_URL: TEST_REDIS_URL,
        LETTERPRESS_PREFIX: redis.prefix,
        OPS_TOKENS: `${OPS.username}:${OPS.password}`,
        SMTP_URL: 'smtp://127.0.0.1:9',
      }),
      { logger: silentLogger },
    );
    // A delivery job left in an old shape fails for good with its reason; a fan-out job waits (no fan-out worker).
    await app.queues.queues.deliver.add(
      'deliver',
      { digestId: 'daily-20261127-060000-ab12' },
      { jobId: 'deliver-old-1' },
    );
    await app.queues.queues.fanout.add(
      'fanout',
      { digestId: 'daily-20261127-060000-cd34' },
      { jobId: 'fanout-waiting' },
    );
    const workers = await runWorkers(app, { kinds: ['deliver'], handleSignals: false });
    await waitUntil('the old job to fail', async () => (await app.queues.queues.deliver.getFailedCount()) === 1);
    await workers.close();
    server = await startHttpServer(app, { port: 0, hostname: '127.0.0.1' });
    base = `http://127.0.0.1:${server.port}`;
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await app?.close();
    await cleanup();
  });

  it('a stranger gets a login prompt; the operator sees every queue and why a job failed, all from our origin', async () => {
    // Chromium meets the login challenge and answers with a guessed password: refused.
    const stranger = await watchContext(browser, { httpCredentials: { username: 'ada', password: 'guess' } });
    const refused = await (await stranger.newPage()).goto(`${base}/ops/queues`);
    expect(refused?.status()).toBe(401);
    expect(await refused?.text()).not.toContain('Letterpress queues');
    await stranger.close();

    const watched = await watchContext(browser, { httpCredentials: OPS });
    const page = await watched.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));

    await page.goto(`${base}/ops/queues`);
    for (const name of Object.keys(app.queues.queues)) {
      await page
        .getByRole('link', { name: new RegExp(`^${name}`) })
        .first()
        .waitFor();
    }
    await expect.poll(() => page.title()).toBe('Letterpress queues');
    await saveScreenshot(page, 'ops-queues-overview');

    await page.goto(`${base}/ops/queues/queue/deliver?status=failed`);
    await page.getByText('does not match its schema').first().waitFor();
    await saveScreenshot(page, 'ops-queues-deliver-failed');

    expect(watched.foreignRequests()).toEqual([]);
    expect(watched.requests.some((url) => url.includes('/ops/queues/static/js/'))).toBe(true);
    expect(watched.setCookieHeaders).toEqual([]);
    expect(await watched.context.cookies()).toEqual([]);
    expect(problems).toEqual([]);
    await watched.close();
  }, 60_000);
});
