/**
 * The editors' JSON API and the public archive, over HTTP against real Redis: who may use it, what it refuses (and
 * that a refusal changes nothing), a test send caught by a real SMTP server, the OpenAPI document, and the archive
 * showing an issue only once it went out.
 */
import { simpleParser } from 'mailparser';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { HttpEnv } from '../../src/http/http-env.js';
import { createHttpApp } from '../../src/http/server.js';
import { silentLogger } from '../../src/logger.js';
import { runWorkers, type RunningWorkers } from '../../workers/run-workers.js';
import { ingestSampleFeed } from '../helpers/sample-feed.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';
import { waitUntil } from '../helpers/wait-until.js';

const TOKEN = 'maggie-token-0123456789abcdef-0123456789';
const ORIGIN = 'https://news.harbourgazette.example';

describe('the editor API', () => {
  let app: App;
  let http: Hono<HttpEnv>;
  let workers: RunningWorkers;
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;
  let cleanup: () => Promise<void>;
  let clientNumber = 0;

  beforeAll(async () => {
    const redis = await openTestRedis('editor-api');
    cleanup = redis.cleanup;
    sink = await startSmtpSink();
    app = await createApp(
      loadConfig({
        REDIS_URL: TEST_REDIS_URL,
        LETTERPRESS_PREFIX: redis.prefix,
        SMTP_URL: sink.url,
        EDITOR_TOKENS: `maggie:${TOKEN}`,
        TRUST_PROXY: '1',
      }),
      { logger: silentLogger },
    );
    await ingestSampleFeed(app);
    await app.subscribers.add({ email: 'reader@example.org', newsletterIds: ['daily'], status: 'active' });
    http = createHttpApp(app);
    workers = await runWorkers(app, { kinds: ['transactional'], handleSignals: false });
  });
  afterAll(async () => {
    await workers?.close();
    await app?.close();
    await sink?.close();
    await cleanup();
  });

  /** A request from a client of its own (rate limits count per client address). */
  function call(method: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}) {
    clientNumber += 1;
    const headers: Record<string, string> = {
      authorization: `Bearer ${TOKEN}`,
      'x-forwarded-for': `198.51.100.${clientNumber % 250}`,
      ...init.headers,
    };
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      headers['content-type'] ??= 'application/json';
    }
    return http.request(`${ORIGIN}/api/v1${path}`, { method, headers, body });
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers are read field by field by the assertions
  const json = async (response: Response) => (await response.json()) as Record<string, any>;

  it('answers only an editor’s Bearer token: none, a wrong one or a browser’s Basic login get 401, never a cookie', async () => {
    const none = await call('GET', '/newsletters', { headers: { authorization: '' } });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    const wrong = await call('GET', '/newsletters', { headers: { authorization: `Bearer ${'x'.repeat(40)}` } });
    expect(wrong.status).toBe(401);
    const basic = `Basic ${Buffer.from(`maggie:${TOKEN}`).toString('base64')}`;
    expect((await call('GET', '/newsletters', { headers: { authorization: basic } })).status).toBe(401);
    const ok = await call('GET', '/newsletters');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('set-cookie')).toBeNull();
    const [daily] = (await json(ok)).newsletters;
    expect(daily).toMatchObject({ id: 'daily', activeReaders: 1, lastIssue: null });
    expect(daily.waitingArticles).toHaveLength(12);
  });

  it('creates, reorders and edits a draft; a stale or malformed edit is refused naming the field, and changes nothing', async () => {
    const created = await call('POST', '/digests', { body: { newsletterId: 'daily', note: 'Morning, all.' } });
    expect(created.status).toBe(201);
    const draft = await json(created);
    expect(draft.digest).toMatchObject({ status: 'draft', revision: 0, createdBy: 'maggie' });
    const ids: string[] = draft.digest.articleIds;
    expect(ids).toHaveLength(12);
    const reordered = [ids[1], ids[0], ...ids.slice(3)];

    const patched = await call('PATCH', `/digests/${draft.digest.id}`, {
      body: { revision: 0, articleIds: reordered, subject: 'Storms\r\nBcc: everyone@example.org' },
    });
    expect(patched.status).toBe(200);
    expect((await json(patched)).digest).toMatchObject({ revision: 1, articleIds: reordered });

    const refusals: [string, Parameters<typeof call>[2], number, RegExp][] = [
      ['stale revision', { body: { revision: 0, note: 'lost?' } }, 409, /changed by someone else/],
      ['unknown field', { body: { revision: 1, colour: 'red' } }, 400, /body: .*colour/],
      ['unknown article', { body: { articleIds: ['0123456789abcdef0123'] } }, 400, /no article 0123456789abcdef0123/],
      ['not JSON', { body: '{"note":', headers: { 'content-type': 'application/json' } }, 400, /not valid JSON/],
      [
        'form body',
        { body: 'note=hi', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        400,
        /send JSON/,
      ],
      ['too large', { body: { note: 'x'.repeat(600 * 1024) } }, 413, /over 512 KB/],
    ];
    for (const [what, init, status, message] of refusals) {
      const response = await call('PATCH', `/digests/${draft.digest.id}`, init);
      expect(response.status, what).toBe(status);
      expect((await json(response)).error.message, what).toMatch(message);
    }
    const after = await json(await call('GET', `/digests/${draft.digest.id}`));
    expect(after.digest.revision).toBe(1);
    expect(after.composition.note).toBe('Morning, all.');

    const bad = await call('GET', '/digests/NOT%20AN%20ID');
    expect(bad.status).toBe(400);
    expect((await json(bad)).error.message).toMatch(/^path: id:/);
    const forged = await call('POST', `/digests/${draft.digest.id}/send`, {
      body: {},
      headers: { origin: 'https://evil.example' },
    });
    expect(forged.status).toBe(403);
    expect((await json(await call('GET', `/digests/${draft.digest.id}`))).digest.status).toBe('draft');

    for (const at of ['2001-01-01T06:00:00Z', 'tomorrow at six']) {
      const response = await call('POST', `/digests/${draft.digest.id}/schedule`, { body: { at } });
      expect(response.status).toBe(400);
      expect((await json(response)).error.message).toMatch(/^at: /);
    }

    const preview = await json(await call('GET', `/digests/${draft.digest.id}/preview`));
    expect(preview.subject).toBe('Storms Bcc: everyone@example.org'); // one header line: no injection
    expect(preview.html).toContain('Morning, all.');
    expect(preview.htmlBytes).toBeLessThanOrEqual(preview.budgetBytes);
    expect(preview).toMatchObject({ gmailClipBytes: 102 * 1024, isFrozen: false, omitted: [] });
  });

  it('mails a test to the addresses typed, marked as a test, with links that unsubscribe nobody, counting no one', async () => {
    const draft = await json(await call('POST', '/digests', { body: { newsletterId: 'daily', kind: 'letter' } }));
    const id = draft.digest.id as string;
    await call('PATCH', `/digests/${id}`, {
      body: { letter: { title: 'From the editor', body: 'Dear readers, **thank you**.' } },
    });
    for (const to of [
      ['not-an-address'],
      ['a@example.org', 'b@example.org', 'c@example.org', 'd@example.org', 'e@example.org', 'f@example.org'],
    ]) {
      const refused = await call('POST', `/digests/${id}/test`, { body: { to } });
      expect(refused.status).toBe(400);
      expect((await json(refused)).error.message).toMatch(/^body: to/);
    }
    const before = sink.messages.length;
    const queued = await call('POST', `/digests/${id}/test`, { body: { to: 'maggie@example.org, tom@example.org' } });
    expect(queued.status).toBe(202);
    await waitUntil('both test copies', () => sink.messages.length >= before + 2);
    const copies = await Promise.all(sink.messages.slice(before).map((m) => simpleParser(m.raw)));
    expect(
      sink.messages
        .slice(before)
        .map((m) => m.envelopeTo[0])
        .sort(),
    ).toEqual(['maggie@example.org', 'tom@example.org']);
    for (const copy of copies) {
      expect(copy.subject).toBe('[Test] The Daily Digest: From the editor');
      expect(String(copy.html)).toContain('<strong>thank you</strong>');
      expect(copy.headers.get('list')).toMatchObject({ unsubscribe: { url: `${ORIGIN}/unsubscribe/preview` } });
    }
    expect(copies[0]?.messageId).not.toBe(copies[1]?.messageId);
    const after = await json(await call('GET', `/digests/${id}`));
    expect(after.digest).toMatchObject({
      status: 'draft',
      counts: { recipients: 0, delivered: 0, failed: 0, skipped: 0 },
    });
  });

  it('gives the newsroom’s pages a policy of their own: script only with the page’s nonce, the preview sandboxed', async () => {
    const draft = await json(await call('POST', '/digests', { body: { newsletterId: 'daily' } }));
    const basic = `Basic ${Buffer.from(`maggie:${TOKEN}`).toString('base64')}`;
    const page = (path: string, init: RequestInit = {}) =>
      http.request(`${ORIGIN}/editor${path}`, { ...init, headers: { authorization: basic, ...init.headers } });

    const compose = await page(`/digests/${draft.digest.id}`);
    const policy = compose.headers.get('content-security-policy') ?? '';
    const nonce = /script-src 'nonce-([^']+)'/.exec(policy)?.[1];
    expect(nonce).toBeDefined();
    expect(policy).toContain("default-src 'none'");
    const html = await compose.text();
    expect([...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])).toEqual([`<script nonce="${nonce}">`]);
    expect(compose.headers.get('set-cookie')).toBeNull();

    const frame = await page(`/digests/${draft.digest.id}/preview.html`);
    expect(frame.headers.get('content-security-policy')).toMatch(/sandbox$/);
    expect(frame.headers.get('content-security-policy')).toContain("frame-ancestors 'self'");
    const email = await frame.text();
    expect(email).not.toMatch(/<img[^>]+src="https?:/); // the articles' pictures are not fetched from elsewhere
    expect(email).toContain('src="data:image/svg+xml');

    const preview = await page(`/digests/${draft.digest.id}/preview`);
    expect(preview.headers.get('content-security-policy')).toContain("frame-src 'self'");
    // A clean digest: the remote pictures the image policy allows are listed as such, and nothing blocks the send.
    const previewHtml = await preview.text();
    expect(previewHtml).toMatch(/<strong>allowed by the image policy<\/strong>: policy-remote-image/);
    expect(previewHtml).not.toContain('blocks sending');

    const forged = await page(`/digests/${draft.digest.id}`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'revision=0&op=save&note=pwned',
    });
    expect(forged.status).toBe(403);
    const huge = await page(`/digests/${draft.digest.id}`, {
      method: 'POST',
      headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      body: `revision=0&op=save&note=${'x'.repeat(600 * 1024)}`,
    });
    expect(huge.status).toBe(413);
    expect((await json(await call('GET', `/digests/${draft.digest.id}`))).composition.note).toBe('');

    // The same audit that stands before the send shows on the preview, before anything is sent.
    await call('PATCH', `/digests/${draft.digest.id}`, {
      body: { revision: 0, note: 'Read [this](https://bit.ly/3xYzAbc).' },
    });
    const leaking = await (await page(`/digests/${draft.digest.id}/preview`)).text();
    expect(leaking).toMatch(/<strong>blocks sending<\/strong>: redirect-link/);
  });

  it('documents every operation in an OpenAPI document made from the same schemas', async () => {
    const response = await http.request(`${ORIGIN}/api/v1/openapi.json`);
    expect(response.status).toBe(200);
    const document = await json(response);
    expect(document.openapi).toBe('3.1.0');
    const operations = Object.entries(
      document.paths as Record<string, Record<string, { operationId: string }>>,
    ).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId}`),
    );
    for (const expected of [
      'GET /newsletters listNewsletters',
      'GET /articles listArticles',
      'GET /feeds listFeeds',
      'GET /drafts listDrafts',
      'POST /digests createDraft',
      'PATCH /digests/{id} updateDraft',
      'GET /digests/{id}/preview previewDigest',
      'POST /digests/{id}/test testDigest',
      'POST /digests/{id}/send sendDigest',
      'POST /digests/{id}/schedule scheduleDigest',
      'POST /digests/{id}/unschedule unscheduleDigest',
      'POST /digests/{id}/pause pauseDigest',
      'POST /digests/{id}/resume resumeDigest',
      'POST /digests/{id}/cancel cancelDigest',
      'GET /digests/{id}/status digestStatus',
    ]) {
      expect(operations).toContain(expected);
    }
    const schedule = document.paths['/digests/{id}/schedule'].post;
    expect(schedule.requestBody.content['application/json'].schema).toMatchObject({
      type: 'object',
      required: ['at'],
      additionalProperties: false,
    });
    expect(schedule.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path', required: true })]);
  });

  it('shows an issue in the archive only once it went out: no draft, no cancelled one, no cookie, nothing remote', async () => {
    const draft = await json(
      await call('POST', '/digests', { body: { newsletterId: 'daily', note: 'On the web too.', articleIds: [] } }),
    );
    const id = draft.digest.id as string;
    const created = await json(await call('POST', '/digests', { body: { newsletterId: 'daily', kind: 'letter' } }));
    await call('POST', `/digests/${created.digest.id}/cancel`, { body: {} });
    const archive = (path: string) => http.request(`${ORIGIN}/archive/daily${path}`);
    expect((await archive(`/${id}`)).status).toBe(404);
    expect((await archive(`/${created.digest.id}`)).status).toBe(404);

    await call('PATCH', `/digests/${id}`, {
      body: { articleIds: draft.candidates.slice(0, 2).map((a: { id: string }) => a.id) },
    });
    const sent = await call('POST', `/digests/${id}/send`, { body: {} });
    expect(sent.status).toBe(202);
    expect((await json(sent)).status).toBe('sending');

    const page = await archive(`/${id}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('set-cookie')).toBeNull();
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
    const pageHtml = await page.text();
    expect(pageHtml).toContain('On the web too.');
    expect(pageHtml).not.toMatch(/<(img|script|iframe|link)\b|src=/i);
    expect(pageHtml).not.toMatch(/unsubscribe|preferences/i);
    const index = await (await archive('')).text();
    expect(index).toContain(`/archive/daily/${id}`);
    expect(index).not.toContain(created.digest.id);
    const feed = await archive('/feed.xml');
    expect(feed.headers.get('content-type')).toMatch(/^application\/atom\+xml/);
    const xml = await feed.text();
    expect(xml).toContain(`<link href="${ORIGIN}/archive/daily/${id}" rel="alternate" type="text/html"/>`);
    expect(xml).not.toContain(created.digest.id);
    expect((await http.request(`${ORIGIN}/archive/weekly`)).status).toBe(404);

    // Steered while it goes out (no delivery worker runs here, so it stays in flight): pause, resume, cancel.
    const steps: [string, object, string][] = [
      ['pause', { reason: 'a typo in the note' }, 'paused'],
      ['resume', {}, 'sending'],
      ['cancel', {}, 'cancelled'],
    ];
    for (const [verb, body, status] of steps) {
      const response = await call('POST', `/digests/${id}/${verb}`, { body });
      expect(response.status, verb).toBe(200);
      expect((await json(response)).status, verb).toBe(status);
    }
    const progress = await json(await call('GET', `/digests/${id}/status`));
    expect(progress.progress).toMatchObject({ status: 'cancelled', recipients: 0 });
    expect((await archive(`/${id}`)).status).toBe(404); // cancelled: never public
    const unsendable = await call('POST', `/digests/${id}/send`, { body: {} });
    expect(unsendable.status).toBe(409);
  });
});

describe('the editor area without EDITOR_TOKENS', () => {
  it('does not exist: pages, API and its document answer 404', async () => {
    const redis = await openTestRedis('editor-closed');
    const app = await createApp(loadConfig({ REDIS_URL: TEST_REDIS_URL, LETTERPRESS_PREFIX: redis.prefix }), {
      logger: silentLogger,
    });
    const http = createHttpApp(app);
    for (const path of ['/editor', '/api/v1/newsletters', '/api/v1/openapi.json']) {
      expect((await http.request(`${ORIGIN}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(
        404,
      );
    }
    await app.close();
    await redis.cleanup();
  });
});
