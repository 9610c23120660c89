/** Editors' and operators' access: named tokens over Basic or Bearer, no cookie, failed attempts limited, Origin checked. */
import { Hono } from 'hono';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkOrigin, requireToken } from '../../src/http/access/require-token.js';
import type { HttpEnv } from '../../src/http/http-env.js';
import { createRateLimiter } from '../../src/http/rate-limit.js';
import { securityHeaders } from '../../src/http/security-headers.js';
import { redisKeys } from '../../src/redis.js';
import { openTestRedis } from '../helpers/redis.js';

const TOKENS = [
  { name: 'maggie', token: 'maggie-token-0123456789abcdef-0123456789' },
  { name: 'tom', token: 'tom-token-0123456789abcdef-0123456789abcd' },
];

describe('token access', () => {
  let redis: Redis;
  let prefix: string;
  let cleanup: () => Promise<void>;
  let address = '203.0.113.7';

  beforeEach(async () => {
    ({ redis, prefix, cleanup } = await openTestRedis('access'));
    address = '203.0.113.7';
  });
  afterEach(async () => cleanup());

  function guarded(tokens = TOKENS) {
    const http = new Hono<HttpEnv>();
    http.use('*', securityHeaders());
    http.use(
      '/area/*',
      requireToken({
        tokens,
        realm: 'Newsroom',
        failures: createRateLimiter(redis, redisKeys(prefix), {
          name: 'test-auth',
          points: 3,
          durationSeconds: 60,
          blockSeconds: 60,
        }),
        clientAddress: () => address,
      }),
    );
    http.use(
      '/area/*',
      checkOrigin(() => ['https://news.example']),
    );
    http.get('/area/who', (c) => c.text(c.get('principal')));
    http.post('/area/change', (c) => c.text(`changed by ${c.get('principal')}`));
    return http;
  }
  const basic = (name: string, token: string) => `Basic ${Buffer.from(`${name}:${token}`).toString('base64')}`;

  it('asks a browser to log in, and lets in the right name and token over Basic or the token over Bearer', async () => {
    const http = guarded();
    const anonymous = await http.request('/area/who');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="Newsroom"/);

    const viaBasic = await http.request('/area/who', { headers: { authorization: basic('maggie', TOKENS[0]!.token) } });
    expect(viaBasic.status).toBe(200);
    expect(await viaBasic.text()).toBe('maggie');
    const viaBearer = await http.request('/area/who', { headers: { authorization: `Bearer ${TOKENS[1]!.token}` } });
    expect(await viaBearer.text()).toBe('tom');
    expect(viaBearer.headers.get('set-cookie')).toBeNull();

    // Another editor's name with someone's token is not a login.
    const mixed = await http.request('/area/who', { headers: { authorization: basic('tom', TOKENS[0]!.token) } });
    expect(mixed.status).toBe(401);
  });

  it('refuses a client after three wrong tokens, even with the right one, and not its neighbours', async () => {
    const http = guarded();
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const wrong = await http.request('/area/who', {
        headers: { authorization: `Bearer ${'x'.repeat(40)}${attempt}` },
      });
      expect(wrong.status).toBe(401);
    }
    const locked = await http.request('/area/who', { headers: { authorization: `Bearer ${TOKENS[0]!.token}` } });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);

    address = '203.0.113.8';
    const neighbour = await http.request('/area/who', { headers: { authorization: `Bearer ${TOKENS[0]!.token}` } });
    expect(neighbour.status).toBe(200);
    // The limiter's keys hold the client address, never a token.
    const keys = await redis.keys(`{${prefix}}:*`);
    expect(keys.join(' ')).not.toContain('token');
  });

  it('keeps an area without configured tokens closed', async () => {
    const response = await guarded([]).request('/area/who', {
      headers: { authorization: `Bearer ${TOKENS[0]!.token}` },
    });
    expect(response.status).toBe(404);
  });

  it('refuses a change posted from another site or an opaque origin, and accepts our own and tools without Origin', async () => {
    const http = guarded();
    const auth = { authorization: `Bearer ${TOKENS[0]!.token}` };
    const forged = await http.request('http://localhost/area/change', {
      method: 'POST',
      headers: { ...auth, origin: 'https://evil.example' },
    });
    expect(forged.status).toBe(403);
    const opaque = await http.request('http://localhost/area/change', {
      method: 'POST',
      headers: { ...auth, origin: 'null' },
    });
    expect(opaque.status).toBe(403);
    const viaReferer = await http.request('http://localhost/area/change', {
      method: 'POST',
      headers: { ...auth, referer: 'https://evil.example/page' },
    });
    expect(viaReferer.status).toBe(403);
    const own = await http.request('http://localhost/area/change', {
      method: 'POST',
      headers: { ...auth, origin: 'http://localhost' },
    });
    expect(await own.text()).toBe('changed by maggie');
    const listed = await http.request('http://localhost/area/change', {
      method: 'POST',
      headers: { ...auth, origin: 'https://news.example' },
    });
    expect(listed.status).toBe(200);
    const tool = await http.request('http://localhost/area/change', { method: 'POST', headers: auth });
    expect(tool.status).toBe(200);
  });
});
