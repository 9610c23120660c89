/** Our webhook signature scheme: HMAC over timestamp and body, a bounded age, and each signature accepted once. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import {
  createReplayGuard,
  signWebhookBody,
  verifySignedRequest,
  verifyWebhookSignature,
} from '../../../src/http/webhooks/signed-request.js';
import { isAppError } from '../../../src/errors.js';
import { redisKeys } from '../../../src/redis.js';
import { openTestRedis } from '../../helpers/redis.js';

const SECRET = 'webhook-secret-for-tests-0123456789abcdef';
const NOW = new Date('2026-11-27T12:00:00Z');
const nowSeconds = Math.floor(NOW.getTime() / 1000);
const body = JSON.stringify({ articles: [{ id: 'cms-4711', title: 'Harbour dredging starts' }] });

describe('webhook signatures', () => {
  it('accepts a correct signature, with or without a fresh timestamp', () => {
    expect(verifyWebhookSignature(SECRET, body, signWebhookBody(SECRET, body))).toBe(true);
    expect(verifyWebhookSignature(SECRET, body, signWebhookBody(SECRET, body, nowSeconds - 60), { now: NOW })).toBe(
      true,
    );
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['a malformed header', 'sha256=nothex'],
    ['another secret', signWebhookBody('a-different-secret-of-enough-length!!', body)],
    ['a signature of another body', signWebhookBody(SECRET, `${body} `)],
    ['an expired timestamp', signWebhookBody(SECRET, body, nowSeconds - 301)],
    ['a timestamp from the future', signWebhookBody(SECRET, body, nowSeconds + 301)],
    [
      'a timestamp swapped after signing',
      signWebhookBody(SECRET, body, nowSeconds - 10).replace(/^t=\d+/, `t=${nowSeconds}`),
    ],
  ])('refuses %s', (_name, header) => {
    expect(verifyWebhookSignature(SECRET, body, header, { now: NOW })).toBe(false);
  });

  it('can require a timestamp', () => {
    expect(verifyWebhookSignature(SECRET, body, signWebhookBody(SECRET, body), { requireTimestamp: true })).toBe(false);
  });
});

describe('a signed request is accepted once', () => {
  let redis: Redis;
  let prefix: string;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ redis, prefix, cleanup } = await openTestRedis('signed-request'));
  });
  afterEach(async () => cleanup());

  async function outcome(run: Promise<void>): Promise<string> {
    try {
      await run;
      return 'accepted';
    } catch (error) {
      return isAppError(error) ? error.code : 'thrown';
    }
  }

  it('refuses the same signed request replayed two seconds later, and accepts a newly signed one', async () => {
    const deps = { secret: SECRET, replay: createReplayGuard(redis, redisKeys(prefix)), clock: () => NOW };
    const raw = Buffer.from(body);
    const header = signWebhookBody(SECRET, raw, nowSeconds);
    expect(await outcome(verifySignedRequest(deps, raw, header))).toBe('accepted');
    const later = { ...deps, clock: () => new Date(NOW.getTime() + 2_000) };
    expect(await outcome(verifySignedRequest(later, raw, header))).toBe('replayed');
    // The same signature in upper case is the same signature.
    expect(
      await outcome(
        verifySignedRequest(later, raw, header.toUpperCase().replace('T=', 't=').replace('SHA256=', 'sha256=')),
      ),
    ).toBe('replayed');
    expect(await outcome(verifySignedRequest(later, raw, signWebhookBody(SECRET, raw, nowSeconds + 2)))).toBe(
      'accepted',
    );
  });

  it('refuses an unsigned, untimestamped or wrongly signed request without remembering it', async () => {
    const deps = { secret: SECRET, replay: createReplayGuard(redis, redisKeys(prefix)), clock: () => NOW };
    const raw = Buffer.from(body);
    expect(await outcome(verifySignedRequest(deps, raw, undefined))).toBe('unauthorized');
    expect(await outcome(verifySignedRequest(deps, raw, signWebhookBody(SECRET, raw)))).toBe('unauthorized');
    expect(await outcome(verifySignedRequest(deps, raw, signWebhookBody('x'.repeat(40), raw, nowSeconds)))).toBe(
      'unauthorized',
    );
    expect(await redis.keys(`{${prefix}}:webhook:seen:*`)).toEqual([]);
  });
});
