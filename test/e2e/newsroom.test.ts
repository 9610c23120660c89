/**
 * The newsroom in Chromium, end to end: an editor logs in with a token, shapes a digest (removes one story, swaps two,
 * writes a note), previews it at both widths, sends a test to their own inbox, schedules it a few seconds ahead and
 * watches it go out, then finds it in the history and the public archive, with the right counts. Real HTTP server,
 * real workers, real capture server; no cookie is ever set and nothing is requested from another origin.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { startCaptureServer, type CaptureServer } from '../../src/capture/capture-server.js';
import { loadConfig } from '../../src/config.js';
import { startHttpServer, type HttpServer } from '../../src/http/server.js';
import { silentLogger } from '../../src/logger.js';
import { toLocalInputValue } from '../../src/newsletters/send-time.js';
import { runWorkers, type RunningWorkers } from '../../workers/run-workers.js';
import { HAS_CHROMIUM, launchBrowser, saveScreenshot, watchContext, type WatchedContext } from '../helpers/browser.js';
import { ingestSampleFeed } from '../helpers/sample-feed.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait-until.js';

const TOKEN = 'maggie-token-0123456789abcdef-0123456789';
const READERS = ['ann@example.org', 'bob@example.org', 'cy@example.org'];

describe.skipIf(!HAS_CHROMIUM)('the newsroom in Chromium', () => {
  let app: App;
  let server: HttpServer;
  let capture: CaptureServer;
  let workers: RunningWorkers;
  let browser: Browser;
  let watched: WatchedContext;
  let captureDir: string;
  let cleanup: () => Promise<void>;
  let base: string;

  beforeAll(async () => {
    const redis = await openTestRedis('e2e-newsroom');
    cleanup = redis.cleanup;
    captureDir = await mkdtemp(join(tmpdir(), 'lp-newsroom-'));
    capture = await startCaptureServer({ directory: captureDir });
    app = await createApp(
      loadConfig({
        REDIS_URL: TEST_REDIS_URL,
        LETTERPRESS_PREFIX: redis.prefix,
        SMTP_URL: capture.url,
        EDITOR_TOKENS: `maggie:${TOKEN}`,
      }),
      { logger: silentLogger },
    );
    await ingestSampleFeed(app);
    for (const email of READERS) await app.subscribers.add({ email, newsletterIds: ['daily'], status: 'active' });
    server = await startHttpServer(app, { port: 0, hostname: '127.0.0.1' });
    base = `http://127.0.0.1:${server.port}`;
    workers = await runWorkers(app, { handleSignals: false, pausedRecheckMs: 200 });
    browser = await launchBrowser();
    watched = await watchContext(browser, {
      viewport: { width: 1640, height: 1000 },
      httpCredentials: { username: 'maggie', password: TOKEN },
    });
  });
  afterAll(async () => {
    await watched?.close();
    await browser?.close();
    await workers?.close();
    await server?.close();
    await app?.close();
    await capture?.close();
    await rm(captureDir, { recursive: true, force: true });
    await cleanup();
  });

  async function captured(): Promise<ParsedMail[]> {
    const files = (await readdir(captureDir)).filter((file) => file.endsWith('.eml')).sort();
    return Promise.all(files.map(async (file) => simpleParser(await readFile(join(captureDir, file)))));
  }
  const titles = (page: Page) =>
    page
      .locator('ol[aria-label="Articles in this issue"] li .title')
      .evaluateAll((items) => items.map((item) => item.childNodes[0]?.textContent?.trim() ?? ''));

  it('shapes a digest, previews it, tests it, schedules it, watches it go out and finds it in the archive', async () => {
    const page = await watched.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${base}/editor`);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Newsroom');
    await expect.poll(() => page.locator('.card').first().textContent()).toMatch(/3 active/);
    await saveScreenshot(page, 'newsroom-overview');

    // Compose: the suggestions, one removed, two swapped, a note.
    await page.getByRole('button', { name: 'New digest' }).first().click();
    await page.waitForURL(/\/editor\/digests\/daily-/);
    const digestUrl = page.url().replace(/\?.*$/, '');
    const digestId = digestUrl.split('/').pop() as string;
    const suggested = await titles(page);
    expect(suggested).toHaveLength(12);
    await page.getByRole('button', { name: `Remove: ${suggested[2]}` }).click();
    await page.waitForLoadState();
    await page.getByRole('button', { name: `Move down: ${suggested[0]}` }).click();
    await page.waitForLoadState();
    await page.locator('#note').fill('Good morning from the newsroom. **Gales** are due tonight: stay safe.');
    await page.getByRole('button', { name: 'Save draft' }).click();
    await page.waitForURL(/done=saved/);
    const shaped = [suggested[1], suggested[0], ...suggested.slice(3)];
    expect(await titles(page)).toEqual(shaped);
    expect(await page.locator('#note').inputValue()).toContain('**Gales**');
    await saveScreenshot(page, 'newsroom-compose');

    // Preview at both widths, with the text part and the size.
    await page.getByRole('link', { name: 'Preview at phone and desktop widths' }).click();
    await page.waitForURL(/\/preview$/);
    for (const title of ['The email at 375 pixels wide', 'The email at 1200 pixels wide']) {
      const frame = page.frameLocator(`iframe[title="${title}"]`);
      await expect.poll(() => frame.locator('body').textContent(), { timeout: 15_000 }).toContain('Gales');
    }
    expect(await page.locator('[data-field="html-size"]').textContent()).toMatch(/KB of the 90 KB budget/);
    expect(await page.getByLabel('Plain-text part').textContent()).toContain('Good morning from the newsroom. Gales');
    await saveScreenshot(page, 'newsroom-preview');

    // A test to the editor's own inbox: marked, the draft untouched.
    await page.goto(digestUrl);
    await page.locator('#test-to').fill('maggie@example.org');
    await page.getByRole('button', { name: 'Send test' }).click();
    await page.waitForURL(/done=test/);
    const test = await waitUntil('the test copy in the capture folder', async () =>
      (await captured()).find((mail) => mail.subject?.startsWith('[Test] ')),
    );
    expect(test.to).toMatchObject({ text: 'maggie@example.org' });
    expect(test.text).toContain('Good morning from the newsroom. Gales');

    // Scheduled a few seconds ahead, in the newsletter's zone (UTC here): it goes out on its own.
    const at = new Date(Date.now() + 6_000);
    await page.locator('#at').fill(toLocalInputValue(at, 'UTC') + `:${String(at.getUTCSeconds()).padStart(2, '0')}`);
    await page.getByRole('button', { name: 'Schedule' }).click();
    await page.waitForURL(/done=scheduled/);
    expect(await page.locator('.badge.scheduled').first().textContent()).toBe('Scheduled');
    await saveScreenshot(page, 'newsroom-scheduled');
    await waitUntil(
      'the digest to be sent',
      async () => {
        await page.goto(digestUrl);
        return (await page.locator('h1 + p .badge').first().textContent()) === 'Sent';
      },
      { timeoutMs: 45_000, intervalMs: 500 },
    );
    expect(await page.locator('[data-field="delivered"]').textContent()).toBe('3');
    expect(await page.locator('[data-field="remaining"]').textContent()).toBe('0');
    await saveScreenshot(page, 'newsroom-sent');

    // Every reader got it once, with the same "View in your browser" link; only the editor got the test.
    const mails = await captured();
    const issues = mails.filter((mail) => !mail.subject?.startsWith('[Test] '));
    expect(issues.map((mail) => (mail.to as { text: string }).text).sort()).toEqual(READERS);
    const archiveUrl = `https://news.harbourgazette.example/archive/daily/${digestId}`;
    for (const mail of issues) {
      expect(String(mail.html)).toContain(`href="${archiveUrl}"`);
      expect(String(mail.html)).toContain('<strong>Gales</strong>');
    }

    // History on the newsletter page, with the counts.
    await page.goto(`${base}/editor/newsletters/daily`);
    const row = page.locator('tr', { has: page.locator(`a[href="/editor/digests/${digestId}"]`) }).last();
    expect(await row.locator('.badge').first().textContent()).toBe('Sent');
    expect(await row.locator('td.num').allTextContents()).toEqual(['3', '3', '0', '0']);
    await saveScreenshot(page, 'newsroom-history');

    // The public archive: the index, the issue, its note.
    await page.getByRole('link', { name: 'Public archive' }).click();
    await page
      .getByRole('link', { name: (await page.locator('li a').first().textContent()) ?? '' })
      .first()
      .click();
    await page.waitForURL(new RegExp(`/archive/daily/${digestId}$`));
    expect(await page.locator('main').textContent()).toContain('Good morning from the newsroom.');
    await saveScreenshot(page, 'newsroom-archive-issue');

    expect(problems).toEqual([]); // no script refused by the policy, no script error
    expect(await watched.context.cookies()).toEqual([]);
    expect(watched.setCookieHeaders).toEqual([]);
    expect(watched.foreignRequests()).toEqual([]);
  });
});
