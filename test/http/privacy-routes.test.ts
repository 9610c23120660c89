/**
 * The privacy page and the frozen-image route over HTTP, as a reader's browser and an attacker would call them:
 * what they show, the headers they carry, and everything else they refuse.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { frozenImagePath } from '../../src/digests/image-store.js';
import { createHttpApp } from '../../src/http/server.js';
import { STRICT_CSP } from '../../src/http/security-headers.js';
import { silentLogger } from '../../src/logger.js';
import { IMAGE_POLICY_FACTS, NEVER_COLLECTED_FACTS, STORED_FACTS } from '../../src/privacy/privacy-facts.js';
import { escapeHtml } from '../../src/escape-html.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';

let app: App;
let cleanup: () => Promise<void>;
let jpeg: { sha256: string; bytes: Buffer };

beforeAll(async () => {
  const redis = await openTestRedis('privacy-http');
  cleanup = redis.cleanup;
  app = await createApp(loadConfig({ REDIS_URL: TEST_REDIS_URL, LETTERPRESS_PREFIX: redis.prefix }), {
    logger: silentLogger,
  });
  const bytes = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#1d3557' } })
    .jpeg()
    .toBuffer();
  jpeg = { sha256: await app.images.put({ contentType: 'image/jpeg', bytes }), bytes };
});

afterAll(async () => {
  await app?.close();
  await cleanup();
});

const get = (path: string, headers: Record<string, string> = {}) => createHttpApp(app).request(path, { headers });

describe('GET /privacy', () => {
  it('tells a reader what is kept, for how long, what is never collected, and how each newsletter shows images', async () => {
    const response = await get('/privacy');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toBe(STRICT_CSP);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('set-cookie')).toBeNull();
    const html = await response.text();
    expect(html).toContain('<h1>No tracking. No cookies.</h1>');
    for (const fact of STORED_FACTS) expect(html).toContain(escapeHtml(fact.kept));
    for (const fact of NEVER_COLLECTED_FACTS) expect(html).toContain(escapeHtml(fact.what));
    expect(html).toContain(`<strong>The Daily Digest</strong>: ${escapeHtml(IMAGE_POLICY_FACTS.remote)}`);
    expect(html).not.toMatch(/<(script|link|img|iframe)\b/);
  });
});

describe('GET /images/<sha256>.<ext>', () => {
  it('serves a frozen image by its hash with its type and immutable caching, and answers 304 to a revalidation', async () => {
    const path = frozenImagePath({ sha256: jpeg.sha256, contentType: 'image/jpeg' });
    expect(path).toBe(`/images/${jpeg.sha256}.jpg`);
    const response = await get(path);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(Buffer.from(await response.arrayBuffer()).equals(jpeg.bytes)).toBe(true);

    const again = await get(`/images/${jpeg.sha256}.jpg`, { 'if-none-match': `"${jpeg.sha256}"` });
    expect(again.status).toBe(304);
    expect((await again.arrayBuffer()).byteLength).toBe(0);
  });

  it('refuses everything else with a plain 404: wrong extension, unknown hash, traversal, other keys, odd shapes', async () => {
    const unknown = 'f'.repeat(64);
    for (const path of [
      `/images/${jpeg.sha256}.png`,
      `/images/${jpeg.sha256}.JPG`,
      `/images/${unknown}.jpg`,
      `/images/${jpeg.sha256}`,
      `/images/${jpeg.sha256.toUpperCase()}.jpg`,
      `/images/..%2f..%2fetc%2fpasswd`,
      `/images/${jpeg.sha256}.jpg%0d%0aSet-Cookie:%20a=b`,
      `/images/${jpeg.sha256}.jpg.jpg`,
      `/images/`,
      `/images/${'a'.repeat(5000)}.jpg`,
    ]) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      expect(response.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(response.headers.get('set-cookie'), path).toBeNull();
    }
  });

  it('serves only what is stored as an image: a key holding something else is not found', async () => {
    const sha = 'e'.repeat(64);
    await app.redis.hset(app.keys.frozenImage(sha), 'type', 'text/html', 'data', '<script>alert(1)</script>');
    expect((await get(`/images/${sha}.jpg`)).status).toBe(404);
    expect((await createHttpApp(app).request(`/images/${jpeg.sha256}.jpg`, { method: 'POST' })).status).toBe(404);
  });
});
