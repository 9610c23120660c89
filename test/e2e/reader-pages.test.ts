/** The reader's pages in a real browser: what a person sees and clicks, with no cookie and no request off the machine. */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { startHttpServer, type HttpServer } from '../../src/http/server.js';
import { createToken } from '../../src/subscribers/tokens.js';
import { HAS_CHROMIUM, launchBrowser, saveScreenshot, watchContext } from '../helpers/browser.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';

describe.skipIf(!HAS_CHROMIUM)('reader pages in Chromium', () => {
  let app: App;
  let server: HttpServer;
  let browser: Browser;
  let cleanup: () => Promise<void>;
  let base: string;

  beforeAll(async () => {
    const redis = await openTestRedis('e2e-reader');
    cleanup = redis.cleanup;
    app = await createApp(loadConfig({ REDIS_URL: TEST_REDIS_URL, LETTERPRESS_PREFIX: redis.prefix }), {
      logger: silentLogger,
    });
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

  it('a reader leaves from the footer link with one button press, and nothing is remembered', async () => {
    const { subscriber } = await app.subscribers.add({
      email: 'reader@example.org',
      newsletterIds: ['daily'],
      status: 'active',
    });
    const token = createToken(app.config.secret, {
      purpose: 'unsubscribe',
      subscriberId: subscriber.id,
      newsletterId: 'daily',
    });
    const preferencesToken = createToken(app.config.secret, {
      purpose: 'preferences',
      subscriberId: subscriber.id,
      newsletterId: 'daily',
    });
    const watched = await watchContext(browser);
    const page = await watched.newPage();

    await page.goto(`${base}/preferences/${preferencesToken}`);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Your newsletters');
    await saveScreenshot(page, 'reader-preferences');

    await page.goto(`${base}/unsubscribe/${token}`);
    await saveScreenshot(page, 'reader-unsubscribe-confirm');
    // Opening the page changed nothing (link scanners open it too).
    expect(await app.redis.getbit(app.keys.newsletterActive('daily'), subscriber.id)).toBe(1);
    await page.getByRole('button', { name: 'Unsubscribe' }).click();
    await page.waitForLoadState();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('You are unsubscribed');
    await saveScreenshot(page, 'reader-unsubscribed');
    expect(await app.redis.getbit(app.keys.newsletterActive('daily'), subscriber.id)).toBe(0);

    expect(await watched.context.cookies()).toEqual([]);
    expect(watched.setCookieHeaders).toEqual([]);
    expect(watched.foreignRequests()).toEqual([]);
    await watched.close();
  });
});
