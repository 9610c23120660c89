/**
 * A reader's whole life in Debian's Chromium, as a person lives it: sign up on the form, open the confirmation email
 * from the capture folder and confirm, receive a digest, leave with the one-click POST its List-Unsubscribe header
 * names, undo, leave everything from the preferences page, and get nothing from the next digest. No response sets a
 * cookie, no request leaves 127.0.0.1, every page is saved as a screenshot to look at, and each kind of page (the
 * form, a notice with its button and link, the preferences) passes axe-core's WCAG 2.1 AA rules.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { startCaptureServer, type CaptureServer } from '../../src/capture/capture-server.js';
import { loadConfig } from '../../src/config.js';
import { sendDigest } from '../../src/delivery/send-digest.js';
import { waitForDigestSettled } from '../../src/delivery/wait-for-digest.js';
import { startHttpServer, type HttpServer } from '../../src/http/server.js';
import { silentLogger } from '../../src/logger.js';
import { findFreePort } from '../../src/private-redis.js';
import { createToken } from '../../src/subscribers/tokens.js';
import { runWorkers, type RunningWorkers } from '../../workers/run-workers.js';
import {
  findAccessibilityProblems,
  HAS_CHROMIUM,
  launchBrowser,
  saveScreenshot,
  watchContext,
} from '../helpers/browser.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait-until.js';
import { QUICK_JOB_OPTIONS, QUICK_WORKER_OPTIONS } from '../delivery/delivery-fixture.js';
import { createDigest } from '../../src/digests/create-digest.js';
import { makeArticle } from '../digests/sample-articles.js';

const READER = 'Mara.Quill@example.org';

describe.skipIf(!HAS_CHROMIUM)('a reader in Chromium', () => {
  let app: App;
  let server: HttpServer;
  let capture: CaptureServer;
  let workers: RunningWorkers;
  let browser: Browser;
  let cleanup: () => Promise<void>;
  let base: string;

  beforeAll(async () => {
    const redis = await openTestRedis('e2e-reader');
    cleanup = redis.cleanup;
    const dir = mkdtempSync(join(tmpdir(), 'lp-e2e-'));
    capture = await startCaptureServer({ directory: join(dir, 'mail') });
    const port = await findFreePort();
    base = `http://127.0.0.1:${port}`;
    const configFile = join(dir, 'letterpress.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        site: { name: 'The Harbour Gazette', baseUrl: base, mailDomain: 'harbourgazette.example' },
        newsletters: [
          {
            id: 'daily',
            name: 'The Daily Digest',
            description: 'The night’s news, every morning at six.',
            welcome: { message: 'Thank you for joining The Daily Digest.\n\nIt arrives every morning at six.' },
          },
          { id: 'culture', name: 'Culture Weekly', description: 'Exhibitions, music and books, on Fridays.' },
        ],
      }),
    );
    app = await createApp(
      loadConfig({
        REDIS_URL: TEST_REDIS_URL,
        LETTERPRESS_PREFIX: redis.prefix,
        LETTERPRESS_CONFIG: configFile,
        SMTP_URL: capture.url,
        SMTP_POOL_SIZE: '2',
      }),
      { logger: silentLogger, jobOptions: QUICK_JOB_OPTIONS },
    );
    workers = await runWorkers(app, QUICK_WORKER_OPTIONS);
    server = await startHttpServer(app, { port, hostname: '127.0.0.1' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await workers?.close();
    await app?.close();
    await capture?.close();
    await cleanup();
  });

  /** The messages the capture server wrote for an address, parsed, oldest first. */
  async function mailFor(address: string): Promise<ParsedMail[]> {
    const files = readdirSync(capture.directory)
      .filter((file) => file.includes(address.toLowerCase()))
      .sort();
    return Promise.all(files.map((file) => simpleParser(readFileSync(join(capture.directory, file)))));
  }

  async function sendIssue(title: string) {
    const newsletter = app.config.newsletters[0]!;
    const article = makeArticle({ title, publishedAt: new Date().toISOString() });
    const digest = await createDigest(
      {
        articles: { listPublishedSince: async () => [article] },
        digests: app.digests,
        lastSentAt: async () => undefined,
        clock: () => new Date(),
      },
      { newsletter, site: app.config.site },
    );
    await sendDigest(app, { digestId: digest.id });
    return waitForDigestSettled(app, digest.id, { timeoutMs: 30_000 });
  }

  const heading = (page: Page) => page.getByRole('heading', { level: 1 }).textContent();
  /** Saves the page's screenshot and collects what axe-core finds wrong with it. */
  const problems: string[] = [];
  async function look(page: Page, name: string, options: { isCheckedByAxe?: boolean } = {}) {
    await saveScreenshot(page, name);
    if (!options.isCheckedByAxe) return;
    for (const problem of await findAccessibilityProblems(browser, await page.content())) {
      problems.push(`${name}: ${problem}`);
    }
  }

  it('signs up, confirms, receives, leaves in one click, undoes, leaves everything, and then gets nothing', async () => {
    await app.subscribers.add({ email: 'neighbour@example.org', newsletterIds: ['daily'], status: 'active' });
    const watched = await watchContext(browser);
    const page = await watched.newPage();

    // The form.
    await page.goto(`${base}/subscribe`);
    expect(await heading(page)).toBe('Subscribe');
    await page.getByLabel('Your email address').fill(READER);
    await page.getByLabel(/The Daily Digest/).check();
    await look(page, 'reader-1-subscribe-form', { isCheckedByAxe: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await look(page, 'reader-1-subscribe-form-phone');
    await page.setViewportSize({ width: 1200, height: 900 });
    await page.getByRole('button', { name: 'Subscribe' }).click();
    await page.waitForLoadState();
    expect(await heading(page)).toBe('Check your inbox');
    await look(page, 'reader-2-check-your-inbox');

    // The confirmation email, from the capture folder.
    const [confirmation] = await waitUntil('the confirmation email', async () => {
      const mail = await mailFor(READER);
      return mail.length > 0 ? mail : undefined;
    });
    expect(confirmation?.subject).toBe('Please confirm your subscription to The Daily Digest');
    expect(confirmation?.headers.has('list-unsubscribe')).toBe(false);
    const confirmUrl = /(http:\/\/127\.0\.0\.1:\d+\/confirm\/\S+)/.exec(confirmation?.text ?? '')?.[1] ?? '';
    await page.goto(confirmUrl);
    expect(await heading(page)).toBe('Confirm your subscription');
    await look(page, 'reader-3-confirm');
    expect((await app.subscribers.getByEmail(READER))?.status).toBe('pending');
    await page.getByRole('button', { name: 'Confirm my subscription' }).click();
    await page.waitForLoadState();
    expect(await heading(page)).toBe('You are subscribed');
    await look(page, 'reader-4-subscribed');
    const welcome = await waitUntil('the welcome email', async () =>
      (await mailFor(READER)).find((m) => m.subject === 'Welcome to The Daily Digest'),
    );
    expect(welcome.text).toContain('It arrives every morning at six.');

    // A digest arrives; its List-Unsubscribe header is the one-click address a mailbox provider POSTs to.
    expect((await sendIssue('Harbour wall repairs begin in spring')).counts.delivered).toBe(2);
    const digestMail = (await mailFor(READER)).find((m) => m.subject?.startsWith('The Daily Digest'));
    const list = digestMail?.headers.get('list') as {
      unsubscribe?: { url?: string };
      'unsubscribe-post'?: { name?: string };
    };
    const oneClick = list.unsubscribe?.url ?? '';
    expect(oneClick).toMatch(new RegExp(`^${base}/unsubscribe/u\\d+\\.daily\\.-\\.`));
    expect(list['unsubscribe-post']?.name).toBe('List-Unsubscribe=One-Click');
    await page.route(oneClick, (route) =>
      route.continue({
        method: 'POST',
        postData: 'List-Unsubscribe=One-Click',
        headers: { ...route.request().headers(), 'content-type': 'application/x-www-form-urlencoded' },
      }),
    );
    await page.goto(oneClick);
    await page.unroute(oneClick);
    expect(await heading(page)).toBe('You are unsubscribed');
    const id = (await app.subscribers.getByEmail(READER))?.id ?? 0;
    expect(await app.subscribers.isActive(id, 'daily')).toBe(false);
    await look(page, 'reader-5-unsubscribed-with-undo', { isCheckedByAxe: true });

    // Undo, then the preferences page: the address, every newsletter, leave everything.
    await page.getByRole('button', { name: 'Undo: keep receiving The Daily Digest' }).click();
    await page.waitForLoadState();
    expect(await heading(page)).toBe('Welcome back');
    expect(await app.subscribers.isActive(id, 'daily')).toBe(true);
    await look(page, 'reader-6-welcome-back');
    await page.getByRole('link', { name: 'See all your newsletters' }).click();
    await page.waitForLoadState();
    expect(await heading(page)).toBe('Your newsletters');
    expect(await page.getByText(READER).count()).toBe(1);
    expect(await page.getByLabel(/The Daily Digest/).isChecked()).toBe(true);
    expect(await page.getByLabel(/Culture Weekly/).isChecked()).toBe(false);
    await look(page, 'reader-7-preferences');
    await page.getByRole('button', { name: 'Leave every newsletter' }).click();
    await page.waitForLoadState();
    expect(await page.getByRole('status').textContent()).toContain('You have left every newsletter');
    await look(page, 'reader-8-left-everything', { isCheckedByAxe: true });

    // The next digest reaches the neighbour and not the reader.
    const before = (await mailFor(READER)).length;
    const next = await sendIssue('Ferry timetable changes for winter');
    expect(next.counts).toMatchObject({ recipients: 1, delivered: 1 });
    expect((await mailFor('neighbour@example.org')).length).toBe(2);
    expect((await mailFor(READER)).length).toBe(before);

    // Calm pages for links that do not work.
    expect((await page.goto(`${base}/confirm/c1.-.zzzzzz.AAAAAAAAAAAAAAAAAAAAAA`))?.status()).toBe(400);
    expect(await heading(page)).toBe('This link is not valid');
    await look(page, 'reader-9-invalid-link');
    const expired = createToken(app.config.secret, {
      purpose: 'confirm',
      subscriberId: id,
      expiresAt: new Date(Date.now() - 60_000),
    });
    expect((await page.goto(`${base}/confirm/${expired}`))?.status()).toBe(410);
    expect(await heading(page)).toBe('This link has expired');
    await look(page, 'reader-10-expired-link');

    expect(problems).toEqual([]);
    expect(await watched.context.cookies()).toEqual([]);
    expect(watched.setCookieHeaders).toEqual([]);
    expect(watched.foreignRequests()).toEqual([]);
    await watched.close();
  });
});
