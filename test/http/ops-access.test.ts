/**
 * The operators' routes refuse strangers: the metrics and the queue dashboard answer only to an operator's token (a
 * missing, wrong, forged or editor's token gets 401, a flood of wrong ones 429, and with no operator configured the
 * routes do not exist), its changes only from our own origin. `/readyz` is open and says nothing private.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createHttpApp } from '../../src/http/server.js';
import { silentLogger } from '../../src/logger.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';

const OPS = { name: 'ada', token: 'ada-ops-token-0123456789abcdef-0123456789' };
const EDITOR = { name: 'maggie', token: 'maggie-editor-token-0123456789abcdef-01234' };
const basic = (name: string, token: string) => `Basic ${Buffer.from(`${name}:${token}`).toString('base64')}`;

describe('operators’ routes', () => {
  let app: App;
  let closedApp: App;
  let cleanup: () => Promise<void>;
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;

  beforeAll(async () => {
    const redis = await openTestRedis('ops-access');
    cleanup = redis.cleanup;
    sink = await startSmtpSink();
    const env = {
      REDIS_URL: TEST_REDIS_URL,
      LETTERPRESS_PREFIX: redis.prefix,
      EDITOR_TOKENS: `${EDITOR.name}:${EDITOR.token}`,
      TRUST_PROXY: '1',
    };
    app = await createApp(loadConfig({ ...env, SMTP_URL: sink.url, OPS_TOKENS: `${OPS.name}:${OPS.token}` }), {
      logger: silentLogger,
    });
    // A relay login the relay refuses (the sink offers no AUTH): not ready, and the answer must not repeat the login.
    closedApp = await createApp(
      loadConfig({ ...env, SMTP_URL: `smtp://relayuser:relay-password-1234@127.0.0.1:${sink.port}` }),
      { logger: silentLogger },
    );
  });
  afterAll(async () => {
    await app?.close();
    await closedApp?.close();
    await sink?.close();
    await cleanup();
  });

  it('answers /metrics and /ops/queues only to an operator’s token, Bearer or Basic', async () => {
    let client = 1;
    // Each attempt from its own client address, so the failed-attempt limit does not mix into this test.
    const request = (path: string, headers: Record<string, string> = {}) =>
      createHttpApp(app).request(path, { headers: { ...headers, 'x-forwarded-for': `198.51.100.${client++}` } });
    for (const path of ['/metrics', '/ops/queues', '/ops/queues/api/queues', '/ops/queues/static/css/x.css']) {
      const strangers: Record<string, string>[] = [
        {},
        { authorization: `Bearer ${OPS.token.slice(0, -1)}x` },
        { authorization: `Bearer ${EDITOR.token}` },
        { authorization: basic(EDITOR.name, OPS.token) },
        { authorization: basic(OPS.name, '') },
        { authorization: `Token ${OPS.token}` },
        { authorization: 'Bearer' },
        { authorization: `Basic ${'A'.repeat(20_000)}` },
      ];
      for (const headers of strangers) {
        const refused = await request(path, headers);
        expect(refused.status, `${path} with ${JSON.stringify(headers).slice(0, 60)}`).toBe(401);
        expect(refused.headers.get('www-authenticate')).toMatch(/^Basic realm="Letterpress operations"/);
        expect(await refused.text()).not.toMatch(/letterpress_|fanout|deliver/);
      }
      // The token in the address (where logs and proxies keep it) is not a login.
      expect((await request(`${path}?token=${OPS.token}`)).status).toBe(401);
    }

    const metrics = await request('/metrics', { authorization: `Bearer ${OPS.token}` });
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await metrics.text()).toMatch(/^letterpress_redis_up 1$/m);
    const dashboard = await request('/ops/queues', { authorization: basic(OPS.name, OPS.token) });
    expect(dashboard.status).toBe(200);
    const html = await dashboard.text();
    expect(html).toContain('Letterpress queues');
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    expect(dashboard.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(dashboard.headers.get('set-cookie')).toBeNull();
    const api = await request('/ops/queues/api/queues', { authorization: `Bearer ${OPS.token}` });
    const names = ((await api.json()) as { queues: { name: string }[] }).queues.map((queue) => queue.name);
    expect(names.sort()).toEqual(Object.keys(app.queues.queues).sort());
  });

  it('refuses a change to the queues from another site, even with the operator’s browser login', async () => {
    const http = createHttpApp(app);
    const authorization = basic(OPS.name, OPS.token);
    const forged = await http.request('/ops/queues/api/queues/deliver/pause', {
      method: 'PUT',
      headers: { authorization, origin: 'https://evil.example', 'x-forwarded-for': '192.0.2.10' },
    });
    expect(forged.status).toBe(403);
    expect(await app.queues.queues.deliver.isPaused()).toBe(false);
    const own = await http.request('/ops/queues/api/queues/deliver/pause', {
      method: 'PUT',
      headers: { authorization, origin: 'http://localhost', 'x-forwarded-for': '192.0.2.10' },
    });
    expect(own.status).toBeLessThan(300);
    expect(await app.queues.queues.deliver.isPaused()).toBe(true);
    await app.queues.queues.deliver.resume();
  });

  it('stops listening to a client after ten wrong tokens, even when it then has the right one', async () => {
    const http = createHttpApp(app);
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const wrong = await http.request('/metrics', {
        headers: { authorization: `Bearer wrong-${attempt}`, 'x-forwarded-for': '192.0.2.99' },
      });
      expect(wrong.status).toBe(401);
    }
    const blocked = await http.request('/metrics', {
      headers: { authorization: `Bearer ${OPS.token}`, 'x-forwarded-for': '192.0.2.99' },
    });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    // Its neighbour is not affected.
    const neighbour = await http.request('/metrics', {
      headers: { authorization: `Bearer ${OPS.token}`, 'x-forwarded-for': '192.0.2.98' },
    });
    expect(neighbour.status).toBe(200);
  });

  it('has no operators’ area at all when no operator token is configured', async () => {
    const http = createHttpApp(closedApp);
    for (const path of ['/metrics', '/ops/queues']) {
      const response = await http.request(path, { headers: { authorization: `Bearer ${OPS.token}` } });
      expect(response.status).toBe(404);
    }
  });

  it('/readyz says whether Redis, the configuration and the relay are ready without naming hosts or secrets', async () => {
    const ready = await createHttpApp(app).request('/readyz');
    expect(ready.status).toBe(200);
    const body = await ready.text();
    expect(JSON.parse(body)).toEqual({
      ok: true,
      checks: [
        { name: 'redis', isOk: true, detail: 'Redis answers' },
        { name: 'config', isOk: true, detail: 'configuration checks pass' },
        { name: 'relay', isOk: true, detail: expect.stringContaining('the relay answers') },
      ],
    });
    expect(body).not.toContain(String(sink.port));

    const refused = await createHttpApp(closedApp).request('/readyz');
    expect(refused.status).toBe(503);
    const refusedBody = await refused.text();
    expect(JSON.parse(refusedBody)).toMatchObject({
      ok: false,
      checks: [
        { name: 'redis', isOk: true },
        { name: 'config', isOk: true },
        { name: 'relay', isOk: false },
      ],
    });
    expect(refusedBody).toContain('the relay cannot be used (EAUTH)');
    expect(refusedBody).not.toMatch(/127\.0\.0\.1|relayuser|relay-password/);
    expect(refusedBody).not.toContain(String(sink.port));
  });
});
