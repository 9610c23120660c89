/** One-click unsubscribe over HTTP, as a mailbox provider (RFC 8058) and as a reader clicking the footer link. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createHttpApp } from '../../src/http/server.js';
import { silentLogger } from '../../src/logger.js';
import { createToken } from '../../src/subscribers/tokens.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';

describe('unsubscribe endpoint', () => {
  let app: App;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const redis = await openTestRedis('http');
    cleanup = redis.cleanup;
    app = await createApp(loadConfig({ REDIS_URL: TEST_REDIS_URL, LETTERPRESS_PREFIX: redis.prefix }), {
      logger: silentLogger,
    });
  });
  afterAll(async () => {
    await app.close();
    await cleanup();
  });

  const oneClick = (path: string) =>
    createHttpApp(app).request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });

  it('removes the reader at once on the provider’s one-click POST, and a repeat is harmless', async () => {
    const { subscriber } = await app.subscribers.add({
      email: 'leaver@example.org',
      newsletterIds: ['daily'],
      status: 'active',
    });
    const token = createToken(app.config.secret, {
      purpose: 'unsubscribe',
      subscriberId: subscriber.id,
      newsletterId: 'daily',
    });

    const response = await oneClick(`/unsubscribe/${token}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('You are unsubscribed');
    expect(await app.redis.getbit(app.keys.newsletterActive('daily'), subscriber.id)).toBe(0);
    expect((await app.subscribers.get(subscriber.id))?.newsletters ?? []).not.toContain('daily');

    expect((await oneClick(`/unsubscribe/${token}`)).status).toBe(200);
  });

  it('never unsubscribes on a GET (link scanners), but offers a button that does', async () => {
    const { subscriber } = await app.subscribers.add({
      email: 'stayer@example.org',
      newsletterIds: ['daily'],
      status: 'active',
    });
    const token = createToken(app.config.secret, {
      purpose: 'unsubscribe',
      subscriberId: subscriber.id,
      newsletterId: 'daily',
    });
    const page = await createHttpApp(app).request(`/unsubscribe/${token}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`action="/unsubscribe/${token}"`);
    expect(await app.redis.getbit(app.keys.newsletterActive('daily'), subscriber.id)).toBe(1);
  });

  it('refuses a tampered token and leaves everyone subscribed', async () => {
    const { subscriber } = await app.subscribers.add({
      email: 'victim@example.org',
      newsletterIds: ['daily'],
      status: 'active',
    });
    const token = createToken(app.config.secret, {
      purpose: 'unsubscribe',
      subscriberId: subscriber.id,
      newsletterId: 'daily',
    });
    const tampered = `${subscriber.id + 1}${token.slice(String(subscriber.id).length)}`;
    const response = await oneClick(`/unsubscribe/${tampered}`);
    expect(response.status).toBe(400);
    expect(await app.redis.getbit(app.keys.newsletterActive('daily'), subscriber.id)).toBe(1);
  });

  it('shows a reader the newsletters they receive, and leaving one from there works at once', async () => {
    const { subscriber } = await app.subscribers.add({
      email: 'chooser@example.org',
      newsletterIds: ['daily'],
      status: 'active',
    });
    const token = createToken(app.config.secret, {
      purpose: 'unsubscribe',
      subscriberId: subscriber.id,
      newsletterId: 'daily',
    });
    const page = await createHttpApp(app).request(`/preferences/${token}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('The Daily Digest');
    expect(html).not.toContain('chooser@example.org');
    const action = /action="([^"]+)"/.exec(html)?.[1] ?? '';
    expect(action).toMatch(/^\/unsubscribe\//);
    expect((await oneClick(action)).status).toBe(200);
    expect(await app.redis.getbit(app.keys.newsletterActive('daily'), subscriber.id)).toBe(0);
    const after = await (await createHttpApp(app).request(`/preferences/${token}`)).text();
    expect(after).toContain('You receive none of our newsletters');
  });

  it('refuses a preferences link that was not issued by us', async () => {
    const response = await createHttpApp(app).request('/preferences/1.daily.AAAAAAAAAAAAAAAAAAAAAA');
    expect(response.status).toBe(400);
  });

  it('sets no cookie and allows no remote resource on any public page', async () => {
    const { subscriber } = await app.subscribers.add({
      email: 'looker@example.org',
      newsletterIds: ['daily'],
      status: 'active',
    });
    const token = createToken(app.config.secret, {
      purpose: 'unsubscribe',
      subscriberId: subscriber.id,
      newsletterId: 'daily',
    });
    for (const path of ['/unsubscribe/abc', `/unsubscribe/${token}`, `/preferences/${token}`, '/healthz', '/nowhere']) {
      const response = await createHttpApp(app).request(path);
      expect(response.headers.get('set-cookie')).toBeNull();
      expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
      const body = await response.text();
      expect(body).not.toMatch(/(src|href)="https?:\/\//);
    }
  });
});
