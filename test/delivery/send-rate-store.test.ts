/**
 * The shared send-rate limit on real Redis: permits are spaced 1/rate apart on Redis's clock and reserved at most a
 * horizon ahead, messages sent late keep holding the second after them, a stored rate overrides the configured one until cleared, a domain's limit holds its own messages
 * back without slowing other domains, and no limit at all grants every message at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { redisKeys } from '../../src/redis.js';
import { RedisSendRateStore } from '../../src/delivery/send-rate-store.js';
import { recipientDomain, waitForSendPermit } from '../../src/delivery/wait-for-send-permit.js';
import { openTestRedis } from '../helpers/redis.js';

describe('the shared send-rate limit', () => {
  let redis: Redis;
  let cleanup: () => Promise<void>;
  let prefix: string;

  beforeEach(async () => {
    const opened = await openTestRedis('send-rate');
    redis = opened.redis;
    cleanup = opened.cleanup;
    prefix = opened.prefix;
  });
  afterEach(async () => cleanup());

  const store = (options: ConstructorParameters<typeof RedisSendRateStore>[2] = {}) =>
    new RedisSendRateStore(redis, redisKeys(prefix), options);

  it('with no limit anywhere every message may go at once', async () => {
    const limiter = store();
    const permits = await Promise.all(Array.from({ length: 20 }, () => limiter.reserve('example.org')));
    expect(permits.every((p) => p.isGranted && p.waitMs === 0)).toBe(true);
    expect(await limiter.read()).toEqual({
      configuredPerSecond: undefined,
      overridePerSecond: undefined,
      effectivePerSecond: undefined,
      domains: {},
    });
  });

  it('with no limit a worker asks Redis again only once per horizon, so a rate set later still applies within it', async () => {
    const limiter = store({ horizonMs: 200 });
    expect(await limiter.reserve('')).toMatchObject({ isGranted: true, waitMs: 0, id: '' });
    await store().set(1);
    expect((await limiter.reserve('')).waitMs).toBe(0);
    await sleep(250);
    expect((await limiter.reserve('')).waitMs).toBe(0);
    expect((await limiter.reserve('')).isGranted).toBe(false);
  });

  it('spaces permits 1/rate apart and reserves no further ahead than the horizon', async () => {
    const limiter = store({ defaultPerSecond: 100, horizonMs: 250 });
    const permits = [];
    for (let i = 0; i < 60; i++) {
      const permit = await limiter.reserve('');
      permits.push({ ...permit, sendAt: performance.now() + permit.waitMs });
    }
    const granted = permits.filter((p) => p.isGranted);
    // 10 ms apart: about 25 fit in 250 ms (the sequential calls themselves take a little time).
    expect(granted.length).toBeGreaterThanOrEqual(25);
    expect(granted.every((p) => p.waitMs <= 250.001)).toBe(true);
    const spanMs = granted.at(-1)!.sendAt - granted[0]!.sendAt;
    expect(spanMs / (granted.length - 1)).toBeCloseTo(10, 0);
    const refused = permits.find((p) => !p.isGranted);
    expect(refused?.waitMs).toBeGreaterThan(0);
    expect(refused?.waitMs).toBeLessThanOrEqual(50);
  });

  it('messages sent late still count in the second after they were sent, so late ones never add up to a burst', async () => {
    const limiter = store({ defaultPerSecond: 10, horizonMs: 5_000 });
    const permits = [];
    for (let i = 0; i < 10; i++) permits.push(await limiter.reserve(''));
    expect(permits.every((p) => p.isGranted)).toBe(true);
    // Every message goes out late, all at once, a second after the first permit's instant.
    await sleep(1_000);
    await Promise.all(permits.map((p) => limiter.settle(p.id)));
    const next = await limiter.reserve('');
    // The schedule alone would say "now"; the ten sent just now hold the next second.
    expect(next.isGranted).toBe(true);
    expect(next.waitMs).toBeGreaterThan(900);
    expect(next.waitMs).toBeLessThanOrEqual(1_001);
  });

  it('a stored rate overrides the configured one for every worker until it is cleared', async () => {
    const limiter = store({ defaultPerSecond: 10 });
    const other = store({ defaultPerSecond: 10 });
    await limiter.set(1000);
    expect((await other.read()).effectivePerSecond).toBe(1000);
    await other.reserve('');
    expect((await other.reserve('')).waitMs).toBeLessThanOrEqual(1.001);
    expect(await limiter.clear()).toBe(true);
    expect(await limiter.read()).toMatchObject({ configuredPerSecond: 10, overridePerSecond: undefined });
    await redis.del(redisKeys(prefix).sendRateNext);
    await other.reserve('');
    expect((await other.reserve('')).waitMs).toBeGreaterThan(90);
  });

  it("a domain's limit holds back its own messages and not other domains'", async () => {
    const limiter = store();
    await limiter.set(5, 'slow.example');
    expect(await limiter.read()).toMatchObject({ domains: { 'slow.example': 5 } });
    expect(await limiter.reserve('slow.example')).toMatchObject({ isGranted: true, waitMs: 0 });
    const second = await limiter.reserve('slow.example');
    expect(second.isGranted).toBe(false);
    expect(second.waitMs).toBeGreaterThan(150);
    expect(second.waitMs).toBeLessThanOrEqual(200);
    expect(await limiter.reserve('fast.example')).toMatchObject({ isGranted: true, waitMs: 0 });
    const started = Date.now();
    expect(await waitForSendPermit(limiter, 'slow.example', undefined)).toMatchObject({ id: expect.any(String) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    await limiter.clearAll();
    expect((await limiter.read()).domains).toEqual({});
  });

  it('a worker shutting down stops waiting for its permit at once', async () => {
    const limiter = store({ defaultPerSecond: 1, horizonMs: 5_000 });
    await limiter.reserve('');
    const controller = new AbortController();
    const started = Date.now();
    const waiting = waitForSendPermit(limiter, '', controller.signal);
    setTimeout(() => controller.abort(), 50);
    expect(await waiting).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('keys a recipient by the lower-cased domain of the address', () => {
    expect(recipientDomain('Reader@Mail.Example.ORG')).toBe('mail.example.org');
    expect(recipientDomain('"odd@name"@example.net')).toBe('example.net');
    expect(recipientDomain('nobody')).toBe('');
    expect(recipientDomain('leser@Bücher.example')).toBe('xn--bcher-kva.example');
  });
});
