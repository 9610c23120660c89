/**
 * The sign-up form over HTTP, as a browser, a robot, a careless person and an attacker use it: what the page says,
 * what gets stored and queued, and what is refused.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createHttpApp } from '../../src/http/server.js';
import { silentLogger } from '../../src/logger.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';

const apps: { app: App; cleanup: () => Promise<void> }[] = [];
afterEach(async () => {
  for (const { app, cleanup } of apps.splice(0)) {
    await app.close();
    await cleanup();
  }
});

function configFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'lp-subscribe-')), 'letterpress.json');
  writeFileSync(
    file,
    JSON.stringify({
      site: { name: 'The <Harbour> Gazette', baseUrl: 'https://news.harbourgazette.example' },
      newsletters: [
        { id: 'daily', name: 'The Daily Digest', description: 'Every morning at six.' },
        { id: 'culture', name: 'Culture <Weekly> & more' },
      ],
    }),
  );
  return file;
}

async function start(env: Record<string, string> = {}) {
  const redis = await openTestRedis('subscribe');
  const app = await createApp(
    loadConfig({
      REDIS_URL: TEST_REDIS_URL,
      LETTERPRESS_PREFIX: redis.prefix,
      LETTERPRESS_CONFIG: configFile(),
      SUBSCRIBE_RATE_PER_IP: '1000',
      ...env,
    }),
    { logger: silentLogger },
  );
  apps.push({ app, cleanup: redis.cleanup });
  const http = createHttpApp(app);
  const post = (body: string, headers: Record<string, string> = {}) =>
    http.request('/subscribe', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });
  const confirmations = async () =>
    (await app.queues.queues.transactional.getJobs(['waiting', 'delayed', 'active'])).filter(
      (job) => job.name === 'transactional',
    );
  return { app, http, post, confirmations };
}

const form = (fields: Record<string, string | string[]>) => {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const item of Array.isArray(value) ? value : [value]) params.append(name, item);
  }
  return params.toString();
};

async function snapshot(response: Response) {
  const headers = [...response.headers.entries()].filter(([name]) => name !== 'date');
  return { status: response.status, headers, body: await response.text() };
}

describe('the sign-up form', () => {
  it('offers an email field with its label, a checkbox per newsletter, and a honeypot people never see', async () => {
    const { http } = await start();
    const response = await http.request('/subscribe');
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toMatch(/^<!doctype html>\s*<html lang="en">/);
    expect(html).toContain('<label for="email">Your email address</label>');
    expect(html).toMatch(/<input\s+type="email"\s+id="email"\s+name="email"/);
    expect(html).toContain('<input type="checkbox" id="newsletter-daily" name="newsletters" value="daily" />');
    expect(html).toContain('<label for="newsletter-culture"><strong>Culture &lt;Weekly&gt; &amp; more</strong>');
    expect(html).toContain('The &lt;Harbour&gt; Gazette');
    expect(html).toContain('<div class="hp">');
    expect(html).toContain('name="website"');
    expect(html).not.toMatch(/<script/i);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(response.headers.get('set-cookie')).toBeNull();

    // A newsletter's own page links to the form with its box ticked; unknown names are ignored.
    const linked = await (await http.request('/subscribe?newsletter=culture&newsletter=weekly<x>')).text();
    expect(linked).toMatch(
      /<input type="checkbox" id="newsletter-culture" name="newsletters" value="culture" checked \/>/,
    );
    expect(linked).toMatch(/<input type="checkbox" id="newsletter-daily" name="newsletters" value="daily" \/>/);
    expect(linked).not.toContain('weekly');
  });

  it('answers a new, a pending, an active and a suppressed address with byte-identical pages (Date aside)', async () => {
    const { app, post, confirmations } = await start();
    await app.subscribers.requestSubscription({
      email: 'pending@example.org',
      newsletterIds: ['daily'],
      isConfirmationSent: false,
    });
    await app.subscribers.add({ email: 'active@example.org', newsletterIds: ['daily'], status: 'active' });
    await app.subscribers.suppress('suppressed@example.org', '550 5.1.1 user unknown');

    const answers = [];
    for (const email of ['new@example.org', 'pending@example.org', 'active@example.org', 'suppressed@example.org']) {
      answers.push(await snapshot(await post(form({ email, newsletters: 'daily', website: '' }))));
    }
    expect(answers[0]?.status).toBe(200);
    expect(answers[0]?.body).toContain('Check your inbox');
    for (const answer of answers.slice(1)) expect(answer).toEqual(answers[0]);

    // Behind the identical answers: the new and the pending address get a confirmation, the others nothing.
    const queued = await confirmations();
    const ids = await Promise.all(['new@example.org', 'pending@example.org'].map((e) => app.subscribers.getByEmail(e)));
    expect(queued.map((job) => (job.data as { subscriberId: number }).subscriberId).sort()).toEqual(
      ids.map((s) => s?.id).sort(),
    );
    expect((await app.subscribers.getByEmail('active@example.org'))?.status).toBe('active');
    expect(await app.subscribers.getByEmail('suppressed@example.org')).toBeUndefined();
  });

  it('asking again within ten minutes sends no second confirmation', async () => {
    const { post, confirmations } = await start();
    for (let i = 0; i < 3; i += 1) {
      expect((await post(form({ email: 'again@example.org', newsletters: ['daily', 'culture'] }))).status).toBe(200);
    }
    expect(await confirmations()).toHaveLength(1);
  });

  it('a robot that fills in the honeypot gets the same page, and nothing is stored or sent', async () => {
    const { app, post, confirmations } = await start();
    const human = await snapshot(await post(form({ email: 'person@example.org', newsletters: 'daily', website: '' })));
    const robot = await snapshot(
      await post(form({ email: 'robot@example.org', newsletters: 'daily', website: 'http://spam.example' })),
    );
    expect(robot).toEqual(human);
    expect(await app.subscribers.getByEmail('robot@example.org')).toBeUndefined();
    expect(await confirmations()).toHaveLength(1);
  });

  it('explains what is wrong with the input, field by field, and stores nothing', async () => {
    const { app, post, http } = await start();
    const cases: [string, RegExp][] = [
      [form({ email: 'not-an-address', newsletters: 'daily' }), /email: must be an email address/],
      [form({ email: 'a@example.org\r\nBcc: victim@example.org', newsletters: 'daily' }), /email: /],
      [
        form({ email: `reader@${`${'x'.repeat(60)}.`.repeat(4)}example.org`, newsletters: 'daily' }),
        /email: must be at most 254/,
      ],
      [
        form({ email: `${'x'.repeat(65)}@example.org`, newsletters: 'daily' }),
        /email: the part before the at sign must be at most 64/,
      ],
      [form({ email: '', newsletters: 'daily' }), /email: /],
      [form({ email: 'ok@example.org' }), /newsletters: choose at least one newsletter/],
      [
        form({ email: 'ok@example.org', newsletters: 'weekly<script>' }),
        /we have no newsletter called weekly&lt;script&gt;/,
      ],
    ];
    for (const [body, reason] of cases) {
      const response = await post(body);
      expect(response.status, body).toBe(400);
      const html = await response.text();
      expect(html).toMatch(reason);
      expect(html).toContain('role="alert"');
      expect(html).not.toContain('<script>');
    }
    expect(await app.subscribers.highestId()).toBe(0);

    const json = await http.request('/subscribe', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'json@example.org', newsletters: ['daily'] }),
    });
    expect(json.status).toBe(415);
    expect(await json.text()).toContain('This is not a form');
    const huge = await post(form({ email: 'big@example.org', newsletters: 'daily', website: 'x'.repeat(100_000) }));
    expect(huge.status).toBe(413);
    expect(await app.subscribers.highestId()).toBe(0);
  });

  it('takes posts from our own site and the origins listed in config, and refuses other sites', async () => {
    const { app, post } = await start({ SUBSCRIBE_ALLOWED_ORIGINS: 'https://www.harbourgazette.example' });
    const body = form({ email: 'origin@example.org', newsletters: 'daily' });
    expect((await post(body, { origin: 'https://www.harbourgazette.example' })).status).toBe(200);
    expect((await post(body, { origin: 'https://news.harbourgazette.example' })).status).toBe(200);
    const forged = await post(form({ email: 'forged@example.org', newsletters: 'daily' }), {
      origin: 'https://evil.example',
    });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('Sign up on our own page');
    const opaque = await post(form({ email: 'forged@example.org', newsletters: 'daily' }), { origin: 'null' });
    expect(opaque.status).toBe(403);
    expect(await app.subscribers.getByEmail('forged@example.org')).toBeUndefined();
  });
});

describe('rate limits on the sign-up form', () => {
  it('a client over its hourly allowance gets 429, Retry-After and a calm page', async () => {
    const { post } = await start({ SUBSCRIBE_RATE_PER_IP: '3', TRUST_PROXY: '1' });
    const from = (ip: string, email: string) => post(form({ email, newsletters: 'daily' }), { 'x-forwarded-for': ip });
    for (let i = 0; i < 3; i += 1) expect((await from('203.0.113.7', `r${i}@example.org`)).status).toBe(200);
    const refused = await from('203.0.113.7', 'r9@example.org');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.text()).toContain('Please wait a little');
    // Another client is not affected.
    expect((await from('198.51.100.2', 'other@example.org')).status).toBe(200);
  });

  it('one address asked for too often, from many clients, is refused too (its key stored only as a hash)', async () => {
    const { app, post } = await start({ SUBSCRIBE_RATE_PER_ADDRESS: '2', TRUST_PROXY: '1' });
    const ask = (ip: string) =>
      post(form({ email: 'target@example.org', newsletters: 'daily' }), { 'x-forwarded-for': ip });
    expect((await ask('198.51.100.1')).status).toBe(200);
    expect((await ask('198.51.100.2')).status).toBe(200);
    const refused = await ask('198.51.100.3');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    const keys = await app.redis.keys(`{${app.config.prefix}}:rate:*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join(' ')).not.toContain('target');
  });
});
