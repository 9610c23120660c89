/**
 * Privacy as a person sees it in Chromium: the /privacy page (no cookie, nothing from elsewhere), and an embedded
 * digest opened with the network switched off, which still shows every picture because they travel in the message.
 */
import { simpleParser } from 'mailparser';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDigest } from '../../src/digests/create-digest.js';
import { guardedImageFetch, freezeDigestImages } from '../../src/digests/freeze-digest-images.js';
import { recompressImage } from '../../src/digests/recompress-image.js';
import { startHttpServer, type HttpServer } from '../../src/http/server.js';
import { silentLogger } from '../../src/logger.js';
import { HAS_CHROMIUM, launchBrowser, saveScreenshot, watchContext } from '../helpers/browser.js';
import { startImageServer, type ImageServer } from '../helpers/image-server.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { makeArticle } from '../digests/sample-articles.js';

describe.skipIf(!HAS_CHROMIUM)('privacy in Chromium', () => {
  let app: App;
  let server: HttpServer;
  let images: ImageServer;
  let browser: Browser;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const redis = await openTestRedis('e2e-privacy');
    cleanup = redis.cleanup;
    app = await createApp(loadConfig({ REDIS_URL: TEST_REDIS_URL, LETTERPRESS_PREFIX: redis.prefix }), {
      logger: silentLogger,
    });
    [server, images, browser] = await Promise.all([
      startHttpServer(app, { port: 0, hostname: '127.0.0.1' }),
      startImageServer(),
      launchBrowser(),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await images?.close();
    await app?.close();
    await cleanup();
  });

  it('the privacy page reads clearly, sets no cookie and loads nothing from anywhere else', async () => {
    const watched = await watchContext(browser, { viewport: { width: 900, height: 900 } });
    const page = await watched.newPage();
    const response = await page.goto(`http://127.0.0.1:${server.port}/privacy`);
    expect(response?.status()).toBe(200);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('No tracking. No cookies.');
    const sections = await page.getByRole('heading', { level: 2 }).allTextContents();
    expect(sections).toEqual(['What we keep about you', 'What we never collect', 'Images']);
    await expect.poll(() => page.getByText('Whether or when you open an email').count()).toBe(1);
    await saveScreenshot(page, 'privacy-page');
    expect(await watched.context.cookies()).toEqual([]);
    expect(watched.setCookieHeaders).toEqual([]);
    expect(watched.foreignRequests()).toEqual([]);
    await watched.close();
  });

  it('an embedded digest opened offline shows every picture, and nothing asks the network for anything', async () => {
    const articles = [
      makeArticle({
        title: 'Harbour at dawn: the wall before the repairs',
        publishedAt: '2025-11-27T06:30:00Z',
        standfirst: 'A last look at the old stones.',
        image: { url: `${images.base}/photo.jpg`, alt: 'The harbour wall at dawn' },
      }),
      makeArticle({
        title: 'The Gazette has a new logo',
        publishedAt: '2025-11-27T06:20:00Z',
        standfirst: 'Designed by a reader.',
        image: { url: `${images.base}/logo.png`, alt: 'A red circle' },
      }),
    ];
    const deps = {
      fetchImage: guardedImageFetch({ maxBytes: 4 * 1024 * 1024, timeoutMs: 10_000, allowPrivateAddresses: true }),
      recompress: recompressImage,
      images: app.images,
      budgetBytes: 300_000,
      logger: silentLogger,
    };
    const digest = await createDigest(
      {
        articles: { listPublishedSince: async () => articles },
        digests: app.digests,
        lastSentAt: async () => undefined,
        clock: () => new Date('2025-11-27T07:00:00Z'),
        freezeImages: (input) => freezeDigestImages(deps, input),
      },
      { newsletter: { ...app.config.newsletters[0]!, images: 'embedded' }, site: app.config.site },
    );
    const body = (await app.digests.getBody(digest.id))!;
    const raw = (await app.prepareMessage(digest, body)).render({ id: 7, email: 'reader@example.org' }, new Date()).raw;

    // What a mail client does with the message: show the HTML part with its cid: parts from the same message.
    const mail = await simpleParser(raw, { skipImageLinks: true });
    let html = String(mail.html);
    expect(mail.attachments).toHaveLength(2);
    for (const part of mail.attachments) {
      html = html.split(`cid:${part.cid}`).join(`data:${part.contentType};base64,${part.content.toString('base64')}`);
    }
    expect(html).not.toContain('cid:');

    const watched = await watchContext(browser, { offline: true, viewport: { width: 700, height: 900 } });
    const page = await watched.newPage();
    await page.setContent(html, { waitUntil: 'load' });
    const pictures = await page
      .locator('img')
      .evaluateAll((nodes) =>
        (nodes as HTMLImageElement[]).map((img) => ({ alt: img.alt, complete: img.complete, width: img.naturalWidth })),
      );
    expect(pictures).toEqual([
      { alt: 'The harbour wall at dawn', complete: true, width: expect.any(Number) },
      { alt: 'A red circle', complete: true, width: 400 },
    ]);
    expect(pictures.every((picture) => picture.width > 0)).toBe(true);
    await saveScreenshot(page, 'embedded-digest-offline');
    expect(watched.requests.filter((url) => !/^(data|about):/.test(url))).toEqual([]);
    await watched.close();
  });
});
