/**
 * The personal links in readers' emails over HTTP: confirm a sign-up, one-click unsubscribe (RFC 8058) with undo,
 * and the preferences page; each with forged, expired, cross-purpose and old-format tokens, on GET as on POST.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createHttpApp } from '../../src/http/server.js';
import { silentLogger } from '../../src/logger.js';
import { createToken } from '../../src/subscribers/tokens.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';

const SECRET = 'reader-links-current-secret-0123456789abcdef';
// The secret the previous release signed links with; its links (below) were made by that release's code.
const LEGACY_SECRET = 'letterpress-test-secret-for-legacy-links-0001';
const LEGACY_LINK_OF_READER_1 = '1.daily.s3SSfnAmI6zbP9BIjtAe_g';
const DAY = 24 * 3_600_000;

let app: App;
let cleanup: () => Promise<void>;
let now = Date.parse('2026-03-02T09:00:00Z');

beforeAll(async () => {
  const redis = await openTestRedis('links');
  cleanup = redis.cleanup;
  const file = join(mkdtempSync(join(tmpdir(), 'lp-links-')), 'letterpress.json');
  writeFileSync(
    file,
    JSON.stringify({
      site: { name: 'The Harbour Gazette', baseUrl: 'https://news.harbourgazette.example' },
      newsletters: [
        { id: 'daily', name: 'The Daily Digest', welcome: { message: 'Welcome aboard.' } },
        { id: 'culture', name: 'Culture Weekly' },
      ],
    }),
  );
  app = await createApp(
    loadConfig({
      REDIS_URL: TEST_REDIS_URL,
      LETTERPRESS_PREFIX: redis.prefix,
      LETTERPRESS_CONFIG: file,
      LETTERPRESS_SECRET: SECRET,
      LETTERPRESS_PREVIOUS_SECRETS: LEGACY_SECRET,
    }),
    { logger: silentLogger, clock: () => new Date(now) },
  );
  // Reader 1 exists before anything else, so the legacy link names them.
  await app.subscribers.add({ email: 'veteran@example.org', newsletterIds: ['daily'], status: 'active' });
});
afterAll(async () => {
  await app.close();
  await cleanup();
});

const request = (path: string, init: RequestInit = {}) => createHttpApp(app).request(path, init);
const post = (path: string, body = '', headers: Record<string, string> = {}) =>
  request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
const isActive = (id: number, newsletter = 'daily') => app.subscribers.isActive(id, newsletter);
const queuedKinds = async () =>
  (await app.queues.queues.transactional.getJobs(['waiting', 'delayed'])).map(
    (job) => job.data as { kind: string; subscriberId: number },
  );

async function signUp(email: string, newsletterIds = ['daily']) {
  const request = await app.subscribers.requestSubscription({ email, newsletterIds, isConfirmationSent: true });
  const expiresAt = new Date(Date.parse(request.requestedAt ?? '') + 72 * 3_600_000);
  return {
    id: request.subscriberId,
    token: createToken(SECRET, { purpose: 'confirm', subscriberId: request.subscriberId, expiresAt }),
  };
}

describe('confirming a sign-up', () => {
  it('opening the link shows one button and changes nothing; pressing it subscribes and queues the welcome', async () => {
    const { id, token } = await signUp('confirm.me@example.org', ['daily', 'culture']);
    const page = await request(`/confirm/${token}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('You asked for The Daily Digest, Culture Weekly.');
    expect(html).toContain(`<form method="post" action="/confirm/${token}">`);
    expect(await isActive(id)).toBe(false);

    const done = await post(`/confirm/${token}`);
    expect(done.status).toBe(200);
    const welcome = await done.text();
    expect(welcome).toContain('You are subscribed');
    expect(welcome).toMatch(/href="\/preferences\/p\d+\.-\.-\.[\w-]{22}"/);
    expect(await isActive(id, 'daily')).toBe(true);
    expect(await isActive(id, 'culture')).toBe(true);
    const welcomes = (await queuedKinds()).filter((job) => job.kind === 'welcome' && job.subscriberId === id);
    expect(welcomes).toHaveLength(1);

    const again = await post(`/confirm/${token}`);
    expect(again.status).toBe(200);
    expect(await again.text()).toContain('Already confirmed');
  });

  it('a forged, altered or cross-purpose link gets 400 and an expired one 410, each with a calm page, GET and POST', async () => {
    const { id, token } = await signUp('late@example.org');
    const expired = createToken(SECRET, { purpose: 'confirm', subscriberId: id, expiresAt: new Date(now - 1000) });
    const unsubscribeToken = createToken(SECRET, { purpose: 'unsubscribe', subscriberId: id, newsletterId: 'daily' });
    const forgedBySomeoneElse = createToken('someone-else-secret-0123456789abcdefghij', {
      purpose: 'confirm',
      subscriberId: id,
      expiresAt: new Date(now + DAY),
    });
    for (const send of [(path: string) => request(path), (path: string) => post(path)]) {
      for (const bad of [
        `${token.slice(0, -1)}A`,
        unsubscribeToken,
        forgedBySomeoneElse,
        'nonsense',
        '%0d%0aSet-Cookie:x=1',
      ]) {
        const response = await send(`/confirm/${bad}`);
        expect(response.status, bad).toBe(400);
        expect(await response.text()).toContain('This link is not valid');
      }
      const late = await send(`/confirm/${expired}`);
      expect(late.status).toBe(410);
      expect(await late.text()).toContain('This link has expired');
    }
    expect(await isActive(id)).toBe(false);
  });

  it('a sign-up nobody confirmed is purged once its link has expired, and the link then says so', async () => {
    const { id, token } = await signUp('never@example.org');
    now += 73 * 3_600_000;
    const purged = await app.subscribers.purgeExpiredRequests(new Date(now - 72 * 3_600_000));
    expect(purged.purged).toBeGreaterThanOrEqual(1);
    expect(await app.subscribers.get(id)).toBeUndefined();
    expect(await app.subscribers.getByEmail('never@example.org')).toBeUndefined();
    expect((await post(`/confirm/${token}`)).status).toBe(410);
  });
});

describe('one-click unsubscribe and undo', () => {
  it('the provider’s POST removes the reader at once; the page names the newsletter and offers undo and preferences', async () => {
    const { subscriber } = await app.subscribers.add({
      email: 'leaver@example.org',
      newsletterIds: ['daily'],
      status: 'active',
    });
    const token = createToken(SECRET, { purpose: 'unsubscribe', subscriberId: subscriber.id, newsletterId: 'daily' });

    const scanned = await request(`/unsubscribe/${token}`);
    expect(scanned.status).toBe(200);
    expect(await scanned.text()).toContain('Press the button to stop receiving The Daily Digest');
    expect(await isActive(subscriber.id)).toBe(true);

    const response = await post(`/unsubscribe/${token}`, 'List-Unsubscribe=One-Click');
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('You will receive no more The Daily Digest emails.');
    expect(await isActive(subscriber.id)).toBe(false);
    expect((await post(`/unsubscribe/${token}`, 'List-Unsubscribe=One-Click')).status).toBe(200);

    const undo = /<form method="post" action="(\/resubscribe\/[^"]+)">/.exec(html)?.[1] ?? '';
    expect(undo).toMatch(/^\/resubscribe\/r\d+\.daily\.[0-9a-z]+\.[\w-]{22}$/);
    expect(html).toMatch(/href="\/preferences\/p\d+/);
    const back = await post(undo);
    expect(back.status).toBe(200);
    expect(await back.text()).toContain('You will receive The Daily Digest again');
    expect(await isActive(subscriber.id)).toBe(true);
  });

  it('the undo button works for seven days, then answers 410', async () => {
    const { subscriber } = await app.subscribers.add({
      email: 'slow@example.org',
      newsletterIds: ['daily'],
      status: 'active',
    });
    const token = createToken(SECRET, { purpose: 'unsubscribe', subscriberId: subscriber.id, newsletterId: 'daily' });
    const html = await (await post(`/unsubscribe/${token}`, 'List-Unsubscribe=One-Click')).text();
    const undo = /action="(\/resubscribe\/[^"]+)"/.exec(html)?.[1] ?? '';
    now += 7 * DAY + 1000;
    const late = await post(undo);
    expect(late.status).toBe(410);
    expect(await late.text()).toContain('The undo button works for seven days');
    expect((await request(undo)).status).toBe(410);
    expect(await isActive(subscriber.id)).toBe(false);
  });

  it('refuses a forged link on GET and POST and leaves everyone subscribed', async () => {
    const { subscriber } = await app.subscribers.add({
      email: 'victim@example.org',
      newsletterIds: ['daily'],
      status: 'active',
    });
    const token = createToken(SECRET, { purpose: 'unsubscribe', subscriberId: subscriber.id, newsletterId: 'daily' });
    const moved = `u${subscriber.id + 1}${token.slice(String(subscriber.id).length + 1)}`;
    const resubscribe = createToken(SECRET, {
      purpose: 'resubscribe',
      subscriberId: subscriber.id,
      newsletterId: 'daily',
      expiresAt: new Date(now + DAY),
    });
    for (const bad of [moved, resubscribe, '1.daily.AAAAAAAAAAAAAAAAAAAAAA', 'x'.repeat(5000)]) {
      expect((await request(`/unsubscribe/${bad}`)).status).toBe(400);
      const response = await post(`/unsubscribe/${bad}`, 'List-Unsubscribe=One-Click');
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('This link is not valid');
    }
    expect(await isActive(subscriber.id)).toBe(true);
  });

  it('a link sent before tokens had purposes, signed with the previous secret, still unsubscribes', async () => {
    expect(await isActive(1)).toBe(true);
    const response = await post(`/unsubscribe/${LEGACY_LINK_OF_READER_1}`, 'List-Unsubscribe=One-Click');
    expect(response.status).toBe(200);
    expect(await isActive(1)).toBe(false);
    const preferences = await request(`/preferences/${LEGACY_LINK_OF_READER_1}`);
    expect(preferences.status).toBe(200);
    expect(await preferences.text()).toContain('veteran@example.org');
  });
});

describe('the preferences page', () => {
  it('shows the address and every newsletter; saving joins and leaves at once', async () => {
    const { subscriber } = await app.subscribers.add({
      email: 'chooser@example.org',
      newsletterIds: ['daily'],
      status: 'active',
    });
    const token = createToken(SECRET, { purpose: 'preferences', subscriberId: subscriber.id });
    const page = await request(`/preferences/${token}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<strong>chooser@example.org</strong>');
    expect(html).toContain('value="daily" checked');
    expect(html).toMatch(/value="culture" \/>/);

    const saved = await post(`/preferences/${token}`, 'action=save&newsletters=culture');
    expect(saved.status).toBe(200);
    expect(await saved.text()).toContain('Saved. You receive Culture Weekly.');
    expect(await isActive(subscriber.id, 'daily')).toBe(false);
    expect(await isActive(subscriber.id, 'culture')).toBe(true);

    const left = await post(`/preferences/${token}`, 'action=leave-all');
    expect(await left.text()).toContain('You have left every newsletter');
    expect(await isActive(subscriber.id, 'culture')).toBe(false);
    expect((await app.subscribers.get(subscriber.id))?.status).toBe('unsubscribed');
  });

  it('rejoining within seven days of leaving everything is immediate; later it needs a fresh confirmation', async () => {
    const { subscriber } = await app.subscribers.add({
      email: 'returner@example.org',
      newsletterIds: ['daily'],
      status: 'active',
    });
    const token = createToken(SECRET, { purpose: 'preferences', subscriberId: subscriber.id });
    await post(`/preferences/${token}`, 'action=leave-all');
    now += 2 * DAY;
    await post(`/preferences/${token}`, 'action=save&newsletters=daily');
    expect(await isActive(subscriber.id)).toBe(true);

    await post(`/preferences/${token}`, 'action=leave-all');
    now += 8 * DAY;
    const asked = await post(`/preferences/${token}`, 'action=save&newsletters=daily');
    expect(await asked.text()).toContain('We sent a confirmation email for The Daily Digest');
    expect(await isActive(subscriber.id)).toBe(false);
    expect((await queuedKinds()).some((job) => job.kind === 'confirmation' && job.subscriberId === subscriber.id)).toBe(
      true,
    );
    expect(await (await request(`/preferences/${token}`)).text()).toContain('(waiting for your confirmation)');
  });

  it('refuses forged links, posts from other sites and forms without an action', async () => {
    const { subscriber } = await app.subscribers.add({
      email: 'guarded@example.org',
      newsletterIds: ['daily'],
      status: 'active',
    });
    const token = createToken(SECRET, { purpose: 'preferences', subscriberId: subscriber.id });
    const confirm = createToken(SECRET, {
      purpose: 'confirm',
      subscriberId: subscriber.id,
      expiresAt: new Date(now + DAY),
    });
    expect((await request(`/preferences/${confirm}`)).status).toBe(400);
    expect((await post(`/preferences/${token.replace(/^p\d+/, 'p999999')}`, 'action=leave-all')).status).toBe(400);
    const crossSite = await post(`/preferences/${token}`, 'action=leave-all', { origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    expect((await post(`/preferences/${token}`, 'newsletters=daily')).status).toBe(400);
    expect(await isActive(subscriber.id)).toBe(true);
  });
});

describe('every reader page', () => {
  it('sets no cookie, loads nothing remote and carries the strict policy', async () => {
    const { subscriber } = await app.subscribers.add({
      email: 'looker@example.org',
      newsletterIds: ['daily'],
      status: 'active',
    });
    const unsubscribe = createToken(SECRET, {
      purpose: 'unsubscribe',
      subscriberId: subscriber.id,
      newsletterId: 'daily',
    });
    const preferences = createToken(SECRET, { purpose: 'preferences', subscriberId: subscriber.id });
    for (const path of [
      '/subscribe',
      '/unsubscribe/abc',
      `/unsubscribe/${unsubscribe}`,
      `/preferences/${preferences}`,
      '/confirm/x',
      '/resubscribe/x',
      '/nowhere',
    ]) {
      const response = await request(path);
      expect(response.headers.get('set-cookie'), path).toBeNull();
      expect(response.headers.get('content-security-policy'), path).toContain("default-src 'none'");
      const body = await response.text();
      expect(body, path).not.toMatch(/(src|href|action)="(https?:)?\/\//);
      expect(body, path).not.toMatch(/<script/i);
    }
  });
});
