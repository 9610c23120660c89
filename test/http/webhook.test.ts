/** The signed CMS webhook: a newsroom's CMS pushes articles; only correctly signed, valid payloads are stored. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { signWebhookBody } from '../../src/http/webhooks/signed-request.js';
import { loadConfig } from '../../src/config.js';
import { createHttpApp } from '../../src/http/server.js';
import { silentLogger } from '../../src/logger.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';

const SECRET = 'a-webhook-secret-of-at-least-32-chars';

describe('CMS webhook', () => {
  let app: App;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const redis = await openTestRedis('webhook');
    cleanup = redis.cleanup;
    app = await createApp(
      loadConfig({ REDIS_URL: TEST_REDIS_URL, LETTERPRESS_PREFIX: redis.prefix, WEBHOOK_SECRET: SECRET }),
      { logger: silentLogger },
    );
  });
  afterAll(async () => {
    await app.close();
    await cleanup();
  });

  const post = (body: string, signature?: string) =>
    createHttpApp(app).request('/webhooks/articles', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(signature ? { 'x-letterpress-signature': signature } : {}) },
      body,
    });
  const now = () => Math.floor(Date.now() / 1000);
  const article = {
    id: 'cms-1001',
    url: 'https://harbourgazette.example/news/ferry?utm_source=cms',
    title: 'Ferry timetable changes from Monday',
    standfirst: 'Two early sailings move.',
    publishedAt: new Date().toISOString(),
    contentHtml: '<p>Details <img src="https://pixel.wp.com/g.gif" width="1" height="1"></p><script>alert(1)</script>',
  };

  it('stores a signed payload, cleaned like a feed item, and counts a repeat as unchanged', async () => {
    const body = JSON.stringify({ articles: [article] });
    const response = await post(body, signWebhookBody(SECRET, body, now()));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ingested: 1, updated: 0, unchanged: 0 });
    const [stored] = await app.articles.list(10);
    expect(stored?.url).toBe('https://harbourgazette.example/news/ferry');
    expect(stored?.contentHtml).not.toMatch(/script|pixel\.wp\.com/);

    // Signed anew (a second later): the same content again, not a replay of the first request.
    const again = await post(body, signWebhookBody(SECRET, body, now() + 1));
    expect(await again.json()).toMatchObject({ ingested: 0, unchanged: 1 });
  });

  it('refuses a missing, wrong or replayed signature and stores nothing', async () => {
    const body = JSON.stringify({ articles: [{ ...article, id: 'cms-2002', title: 'Unsigned' }] });
    expect((await post(body)).status).toBe(401);
    expect((await post(body, signWebhookBody('another-secret-that-is-32-chars-long', body, now()))).status).toBe(401);
    expect((await post(body, signWebhookBody(SECRET, body, now() - 3600))).status).toBe(401);
    expect((await post(body, signWebhookBody(SECRET, body))).status).toBe(401); // no timestamp: replayable
    expect((await app.articles.list(10)).map((a) => a.title)).not.toContain('Unsigned');
  });

  it('refuses a captured request replayed after a correction, so the correction stands', async () => {
    const original = JSON.stringify({ articles: [{ ...article, id: 'cms-5005', title: 'Bridge closes Monday' }] });
    const captured = signWebhookBody(SECRET, original, now());
    expect((await post(original, captured)).status).toBe(200);
    const correction = JSON.stringify({ articles: [{ ...article, id: 'cms-5005', title: 'Bridge closes Tuesday' }] });
    expect((await post(correction, signWebhookBody(SECRET, correction, now()))).status).toBe(200);

    const replayed = await post(original, captured);
    expect(replayed.status).toBe(409);
    expect(await replayed.json()).toMatchObject({ error: { code: 'replayed' } });
    const titles = (await app.articles.list(20)).map((a) => a.title);
    expect(titles).toContain('Bridge closes Tuesday');
    expect(titles).not.toContain('Bridge closes Monday');
  });

  it('keeps a correction when an older version arrives later, freshly signed, and lists the refusal', async () => {
    const version = (title: string, updatedAt: string) =>
      JSON.stringify({
        articles: [{ ...article, id: 'cms-6006', title, publishedAt: '2026-11-26T08:00:00Z', updatedAt }],
      });
    const correction = version('Harbour dues rise 3%', '2026-11-26T10:00:00Z');
    expect((await post(correction, signWebhookBody(SECRET, correction, now()))).status).toBe(200);

    // The CMS's queue delivers the first version late (a retry), with a valid new signature.
    const late = version('Harbour dues rise 30%', '2026-11-26T09:00:00Z');
    const response = await post(late, signWebhookBody(SECRET, late, now()));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      ingested: 0,
      updated: 0,
      outdated: 1,
      refused: [{ title: 'Harbour dues rise 30%', reason: 'outdated' }],
    });
    const titles = (await app.articles.list(50)).map((a) => a.title);
    expect(titles).toContain('Harbour dues rise 3%');
    expect(titles).not.toContain('Harbour dues rise 30%');
  });

  it('refuses an oversized body before reading it all', async () => {
    const body = JSON.stringify({ articles: [{ ...article, contentHtml: 'x'.repeat(6 * 1024 * 1024) }] });
    const response = await post(body, signWebhookBody(SECRET, body, now()));
    expect(response.status).toBe(413);
  });

  it('names the article and field of an invalid payload and stores none of it', async () => {
    const body = JSON.stringify({
      articles: [
        { ...article, id: 'cms-3003', title: 'Fine' },
        { ...article, id: 'cms-3004', url: 'not a url' },
      ],
    });
    const response = await post(body, signWebhookBody(SECRET, body, now()));
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { message: string } };
    expect(error.message).toMatch(/articles\.1\.url/);
    expect((await app.articles.list(10)).map((a) => a.title)).not.toContain('Fine');
  });
});
