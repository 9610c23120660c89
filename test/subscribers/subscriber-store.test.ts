/** The subscriber store on a real Redis: idempotent adds, immediate unsubscribes, suppression that sticks. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { redisKeys, type RedisKeys } from '../../src/redis.js';
import { RedisSubscriberStore } from '../../src/subscribers/subscriber-store.js';
import { openTestRedis } from '../helpers/redis.js';

describe('subscriber store', () => {
  let redis: Redis;
  let keys: RedisKeys;
  let store: RedisSubscriberStore;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    const opened = await openTestRedis('subs');
    redis = opened.redis;
    cleanup = opened.cleanup;
    keys = redisKeys(opened.prefix);
    store = new RedisSubscriberStore(redis, keys);
  });
  afterEach(async () => cleanup());

  it('adding the same address twice (any case) keeps one reader and merges the newsletters', async () => {
    const first = await store.add({ email: 'Reader@Example.org', newsletterIds: ['daily'], status: 'active' });
    const second = await store.add({ email: ' reader@example.ORG ', newsletterIds: ['weekly'], status: 'pending' });
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.subscriber.id).toBe(first.subscriber.id);
    expect(second.subscriber.status).toBe('active');
    expect(second.subscriber.newsletters).toEqual(['daily', 'weekly']);
    expect(second.subscriber.email).toBe('Reader@Example.org');
    expect(await store.isActive(first.subscriber.id, 'daily')).toBe(true);
    expect(await store.isActive(first.subscriber.id, 'weekly')).toBe(true);
    expect((await store.getByEmail('READER@example.org'))?.id).toBe(first.subscriber.id);
  });

  it('a pending reader is not counted as active until confirmed', async () => {
    const { subscriber } = await store.add({ email: 'new@example.org', newsletterIds: ['daily'], status: 'pending' });
    expect(await store.isActive(subscriber.id, 'daily')).toBe(false);
    const confirmed = await store.add({ email: 'new@example.org', newsletterIds: ['daily'], status: 'active' });
    expect(confirmed.subscriber.status).toBe('active');
    expect(await store.countActive('daily')).toBe(1);
  });

  it('unsubscribing from one newsletter keeps the others; from the last one leaves the reader unsubscribed', async () => {
    const { subscriber } = await store.add({
      email: 'two@example.org',
      newsletterIds: ['daily', 'weekly'],
      status: 'active',
    });
    const afterOne = await store.unsubscribe(subscriber.id, 'daily');
    expect(afterOne?.newsletters).toEqual(['weekly']);
    expect(afterOne?.status).toBe('active');
    expect(await store.isActive(subscriber.id, 'daily')).toBe(false);
    expect(await store.isActive(subscriber.id, 'weekly')).toBe(true);
    const afterAll = await store.unsubscribe(subscriber.id);
    expect(afterAll?.status).toBe('unsubscribed');
    expect(afterAll?.newsletters).toEqual([]);
    expect(await store.isActive(subscriber.id, 'weekly')).toBe(false);
    expect(await store.unsubscribe(9_999)).toBeUndefined();
  });

  it('a suppressed address loses every newsletter and is not reactivated by a new sign-up', async () => {
    const { subscriber } = await store.add({
      email: 'gone@example.org',
      newsletterIds: ['daily', 'weekly'],
      status: 'active',
    });
    const suppressed = await store.suppress('GONE@example.org', '550 5.1.1 user unknown');
    expect(suppressed?.status).toBe('suppressed');
    expect(await store.isActive(subscriber.id, 'daily')).toBe(false);
    expect(await store.isActive(subscriber.id, 'weekly')).toBe(false);
    const again = await store.add({ email: 'gone@example.org', newsletterIds: ['daily'], status: 'active' });
    expect(again.subscriber.status).toBe('suppressed');
    expect(await store.isActive(subscriber.id, 'daily')).toBe(false);
    expect((await store.getSuppression('gone@example.org'))?.reason).toContain('5.1.1');
  });

  it('an address suppressed before it ever signed up is stored as suppressed and never active', async () => {
    expect(await store.suppress('complainer@example.org', 'complaint')).toBeUndefined();
    const { subscriber, created } = await store.add({
      email: 'complainer@example.org',
      newsletterIds: ['daily'],
      status: 'active',
    });
    expect(created).toBe(true);
    expect(subscriber.status).toBe('suppressed');
    expect(await store.countActive('daily')).toBe(0);
  });

  it('bulk seeding adds many readers in a few round trips and reports what already existed', async () => {
    await store.add({ email: 'reader-3@example.org', newsletterIds: ['daily'], status: 'active' });
    const inputs = Array.from({ length: 250 }, (_, i) => ({
      email: `reader-${i}@example.org`,
      newsletterIds: ['daily'],
      status: 'active' as const,
    }));
    const result = await store.addMany(inputs, { chunkSize: 100 });
    expect(result).toEqual({ created: 249, existing: 1 });
    expect(await store.countActive('daily')).toBe(250);
    const emails = await store.getEmails([1, 2, 250, 251, 9_999]);
    expect(emails.get(1)).toBe('reader-3@example.org');
    expect(emails.size).toBe(3);
    expect(emails.has(251)).toBe(false);
  });

  it('refuses a malformed address naming the field, and stores nothing', async () => {
    await expect(store.add({ email: 'not-an-address', newsletterIds: ['daily'], status: 'active' })).rejects.toThrow(
      /email/,
    );
    await expect(
      store.addMany([
        { email: 'ok@example.org', newsletterIds: ['daily'], status: 'active' },
        { email: 'bad', newsletterIds: ['daily'], status: 'active' },
      ]),
    ).rejects.toThrow(/subscriber\[1\]/);
    expect(await redis.exists(keys.subscriberNextId)).toBe(0);
  });
});
