/**
 * `serve` never hangs on Redis. A private redis-server is frozen, stopped and started again under a running server
 * (and under a real `letterpress serve` started while it is down); every request must get an answer: 503 from
 * `/healthz`, a calm page for readers, JSON for programs. The bounds below are liveness bounds, generous on purpose:
 * they catch a request that never answers, not a slow one.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { startHttpServer, type HttpServer } from '../../src/http/server.js';
import { signWebhookBody } from '../../src/http/webhooks/signed-request.js';
import { silentLogger } from '../../src/logger.js';
import { findFreePort, startPrivateRedis, type PrivateRedis } from '../../src/private-redis.js';
import { createToken } from '../../src/subscribers/tokens.js';
import { HAS_CHROMIUM, launchBrowser, saveScreenshot, watchContext } from '../helpers/browser.js';
import { spawnLetterpress } from '../helpers/processes.js';
import { uniquePrefix } from '../helpers/redis.js';
import { waitUntil } from '../helpers/wait-until.js';

const ANSWER_BOUND_MS = 20_000;
const WEBHOOK_SECRET = 'an-outage-webhook-secret-of-32-chars-or-more';

/** A request that must be answered: it fails the test if nothing comes back within the liveness bound. */
function request(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(ANSWER_BOUND_MS) });
}

describe('serve while Redis is away', () => {
  let redis: PrivateRedis;
  let app: App;
  let server: HttpServer;
  let base: string;
  let token: string;
  let preferencesToken: string;
  let subscriberId: number;

  beforeAll(async () => {
    redis = await startPrivateRedis({ appendonly: false });
    const config = loadConfig({
      REDIS_URL: redis.url,
      LETTERPRESS_PREFIX: uniquePrefix('outage'),
      WEBHOOK_SECRET,
    });
    app = await createApp(config, { logger: silentLogger, redisCommandTimeoutMs: 1_000 });
    server = await startHttpServer(app, { port: 0, hostname: '127.0.0.1' });
    base = `http://127.0.0.1:${server.port}`;
    const { subscriber } = await app.subscribers.add({
      email: 'reader@example.org',
      newsletterIds: ['daily'],
      status: 'active',
    });
    subscriberId = subscriber.id;
    token = createToken(app.config.secret, { purpose: 'unsubscribe', subscriberId, newsletterId: 'daily' });
    preferencesToken = createToken(app.config.secret, { purpose: 'preferences', subscriberId, newsletterId: 'daily' });
  });
  afterAll(async () => {
    await server?.close();
    await app?.close();
    await redis?.close();
  });

  it('answers 503 from /healthz and the reader pages when Redis hangs, and recovers when it wakes', async () => {
    expect((await request(`${base}/healthz`)).status).toBe(200);
    const pid = redis.pid() as number;
    process.kill(pid, 'SIGSTOP');
    try {
      const health = await request(`${base}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ ok: false, redis: 'down' });
      const page = await request(`${base}/preferences/${preferencesToken}`);
      expect(page.status).toBe(503);
      expect(page.headers.get('retry-after')).toBe('30');
      expect(await page.text()).toContain('Back in a few minutes');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitUntil('the health check to pass again', async () => (await request(`${base}/healthz`)).ok);
  });

  it('answers with a calm page (no cookie, nothing remote) when Redis is down, and the reader can leave once it is back', async () => {
    await redis.stop();
    try {
      const health = await request(`${base}/healthz`);
      expect(health.status).toBe(503);

      const preferences = await request(`${base}/preferences/${preferencesToken}`);
      expect(preferences.status).toBe(503);
      expect(preferences.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
      expect(preferences.headers.get('set-cookie')).toBeNull();
      expect(await preferences.text()).toContain('Nothing was changed');

      const unsubscribe = await request(`${base}/unsubscribe/${token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'List-Unsubscribe=One-Click',
      });
      expect(unsubscribe.status).toBe(503);
      expect(await unsubscribe.text()).toContain('your link will still work');

      const body = JSON.stringify({
        articles: [{ id: 'cms-1', url: 'https://paper.example/1', title: 'T', publishedAt: '2026-11-26T08:00:00Z' }],
      });
      const webhook = await request(`${base}/webhooks/articles`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-letterpress-signature': signWebhookBody(WEBHOOK_SECRET, body, Math.floor(Date.now() / 1000)),
        },
        body,
      });
      expect(webhook.status).toBe(503);
      expect(await webhook.json()).toMatchObject({ error: { code: 'redis_unavailable' } });

      // The page behind the footer link needs no records: it still shows its button.
      expect((await request(`${base}/unsubscribe/${token}`)).status).toBe(200);

      if (HAS_CHROMIUM) await lookAtTheOutagePage(`${base}/preferences/${preferencesToken}`);
    } finally {
      await redis.start();
    }
    await waitUntil('the health check to pass again', async () => (await request(`${base}/healthz`)).ok);
    const unsubscribed = await request(`${base}/unsubscribe/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(unsubscribed.status).toBe(200);
    expect(await app.redis.getbit(app.keys.newsletterActive('daily'), subscriberId)).toBe(0);
  });

  it('a serve started while Redis is down answers 503 at once, and serves as soon as Redis is up', async () => {
    await redis.stop();
    const port = await findFreePort();
    const serve = spawnLetterpress(['serve'], {
      env: {
        REDIS_URL: redis.url,
        LETTERPRESS_PREFIX: uniquePrefix('outage-serve'),
        PORT: String(port),
        HOST: '127.0.0.1',
      },
    });
    const serveBase = `http://127.0.0.1:${port}`;
    try {
      const health = await waitUntil('serve to listen', () => request(`${serveBase}/healthz`).catch(() => undefined));
      expect(health.status).toBe(503);
      const page = await request(`${serveBase}/preferences/${preferencesToken}`);
      expect(page.status).toBe(503);
      expect(await page.text()).toContain('Back in a few minutes');

      await redis.start();
      await waitUntil('serve to find Redis', async () => (await request(`${serveBase}/healthz`)).ok, {
        timeoutMs: 60_000,
      });
    } finally {
      const exit = await serve.stop('SIGTERM', 20_000);
      expect(exit.forced, serve.stderr()).toBe(false);
    }
  });
});

/** Opens the outage page in Chromium: what a reader sees, with no cookie and no request off the machine. */
async function lookAtTheOutagePage(url: string): Promise<void> {
  const browser: Browser = await launchBrowser();
  try {
    const watched = await watchContext(browser);
    const page = await watched.newPage();
    const response = await page.goto(url);
    expect(response?.status()).toBe(503);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Back in a few minutes');
    await saveScreenshot(page, 'reader-redis-outage');
    expect(await watched.context.cookies()).toEqual([]);
    expect(watched.foreignRequests()).toEqual([]);
    await watched.close();
  } finally {
    await browser.close();
  }
}
