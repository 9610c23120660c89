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
    store = new RedisSubscriberStore(redis, keys, { suppressionKey: 'test-suppression-key-0123456789abcdef' });
  });
  afterEach(async () => cleanup());

  it('adding the same address twice (any case) keeps one reader and merges the newsletters', async () => {
    const first = await store.add({ email: 'Reader@Example.org', newsletterIds: ['daily'], status: 'active' });
    const second = await store.add({ email: ' reader@example.ORG ', newsletterIds: ['weekly'], status: 'active' });
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.isResubscribeRefused).toBe(false);
    expect(second.subscriber.id).toBe(first.subscriber.id);
    expect(second.subscriber.status).toBe('active');
    expect(second.subscriber.newsletters).toEqual(['daily', 'weekly']);
    expect(second.subscriber.email).toBe('Reader@Example.org');
    expect(await store.isActive(first.subscriber.id, 'daily')).toBe(true);
    expect(await store.isActive(first.subscriber.id, 'weekly')).toBe(true);
    expect((await store.getByEmail('READER@example.org'))?.id).toBe(first.subscriber.id);
  });

  it('an active reader who signs up for another newsletter gets nothing of it until they confirm', async () => {
    const { subscriber } = await store.add({ email: 'reader@example.org', newsletterIds: ['daily'], status: 'active' });
    const signUp = await store.add({ email: 'reader@example.org', newsletterIds: ['weekly'], status: 'pending' });
    expect(signUp.subscriber).toEqual(subscriber);
    expect(await store.isActive(subscriber.id, 'weekly')).toBe(false);
    expect(await store.isActive(subscriber.id, 'daily')).toBe(true);

    const confirmed = await store.add({ email: 'reader@example.org', newsletterIds: ['weekly'], status: 'active' });
    expect(confirmed.subscriber.newsletters).toEqual(['daily', 'weekly']);
    expect(await store.isActive(subscriber.id, 'weekly')).toBe(true);
  });

  it('a reader who unsubscribed is not signed back up by adding the address again, only by a resubscription', async () => {
    const { subscriber } = await store.add({ email: 'left@example.org', newsletterIds: ['daily'], status: 'active' });
    await store.unsubscribe(subscriber.id);

    const again = await store.add({ email: 'left@example.org', newsletterIds: ['daily', 'weekly'], status: 'active' });
    expect(again.created).toBe(false);
    expect(again.isResubscribeRefused).toBe(true);
    expect(again.refusal).toBe('unsubscribed');
    expect(again.subscriber.status).toBe('unsubscribed');
    expect(again.subscriber.newsletters).toEqual([]);
    expect(await store.isActive(subscriber.id, 'daily')).toBe(false);
    expect(await store.isActive(subscriber.id, 'weekly')).toBe(false);
    expect(
      await store.addMany([{ email: 'left@example.org', newsletterIds: ['daily'], status: 'active' }]),
    ).toMatchObject({
      created: 0,
      existing: 1,
      resubscribeRefused: 1,
    });
    expect(await store.countActive('daily')).toBe(0);

    const back = await store.add({
      email: 'left@example.org',
      newsletterIds: ['daily'],
      status: 'active',
      resubscribe: true,
    });
    expect(back.isResubscribeRefused).toBe(false);
    expect(back.subscriber).toMatchObject({ id: subscriber.id, status: 'active', newsletters: ['daily'] });
    expect(await store.isActive(subscriber.id, 'daily')).toBe(true);
  });

  it('a reader who left one newsletter keeps the others, and an add does not put them back on the one they left', async () => {
    const { subscriber } = await store.add({
      email: 'picky@example.org',
      newsletterIds: ['daily', 'weekly'],
      status: 'active',
    });
    await store.unsubscribe(subscriber.id, 'daily');

    const again = await store.add({
      email: 'picky@example.org',
      newsletterIds: ['daily', 'culture'],
      status: 'active',
    });
    expect(again.isResubscribeRefused).toBe(true);
    expect(again.subscriber.newsletters).toEqual(['weekly', 'culture']);
    expect(await store.isActive(subscriber.id, 'daily')).toBe(false);
    expect(await store.isActive(subscriber.id, 'culture')).toBe(true);

    const back = await store.add({
      email: 'picky@example.org',
      newsletterIds: ['daily'],
      status: 'active',
      resubscribe: true,
    });
    expect(back.subscriber.newsletters).toEqual(['weekly', 'culture', 'daily']);
    expect(await store.isActive(subscriber.id, 'daily')).toBe(true);
  });

  it('a former reader who signs up again waits as pending, and only their confirmed resubscription activates them', async () => {
    const { subscriber } = await store.add({ email: 'back@example.org', newsletterIds: ['daily'], status: 'active' });
    await store.unsubscribe(subscriber.id);

    const signUp = await store.add({ email: 'back@example.org', newsletterIds: ['daily'], status: 'pending' });
    expect(signUp.subscriber.status).toBe('pending');
    expect(signUp.isResubscribeRefused).toBe(false);
    expect(await store.isActive(subscriber.id, 'daily')).toBe(false);

    const unconfirmed = await store.add({ email: 'back@example.org', newsletterIds: ['daily'], status: 'active' });
    expect(unconfirmed.isResubscribeRefused).toBe(true);
    expect(unconfirmed.subscriber.status).toBe('pending');
    expect(await store.isActive(subscriber.id, 'daily')).toBe(false);

    const confirmed = await store.add({
      email: 'back@example.org',
      newsletterIds: ['daily'],
      status: 'active',
      resubscribe: true,
    });
    expect(confirmed.subscriber.status).toBe('active');
    expect(await store.isActive(subscriber.id, 'daily')).toBe(true);
  });

  it('many sign-ups of one new address at once end as one reader taking every newsletter asked for', async () => {
    const newsletters = ['daily', 'weekly', 'culture', 'business', 'sport'];
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        store.add({ email: 'eager@example.org', newsletterIds: [newsletters[i % 5] ?? 'daily'], status: 'active' }),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.subscriber.id)).size).toBe(1);
    const reader = await store.getByEmail('eager@example.org');
    expect([...(reader?.newsletters ?? [])].sort()).toEqual([...newsletters].sort());
    for (const newsletter of newsletters) expect(await store.isActive(reader?.id ?? 0, newsletter)).toBe(true);
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
    const again = await store.add({
      email: 'gone@example.org',
      newsletterIds: ['daily'],
      status: 'active',
      resubscribe: true,
    });
    expect(again.subscriber.status).toBe('suppressed');
    expect(again.refusal).toBe('suppressed');
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
    expect(result).toMatchObject({ created: 249, existing: 1, resubscribeRefused: 0 });
    expect(result.results).toHaveLength(250);
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

  it('accepts a Unicode domain, keeps the address as written, and knows its punycode spelling as the same reader', async () => {
    const { subscriber } = await store.add({
      email: 'Leser@Bücher.example',
      newsletterIds: ['daily'],
      status: 'active',
    });
    expect(subscriber.email).toBe('Leser@Bücher.example');
    expect((await store.getByEmail('leser@xn--bcher-kva.example'))?.id).toBe(subscriber.id);
    const again = await store.add({
      email: 'leser@xn--bcher-kva.example',
      newsletterIds: ['weekly'],
      status: 'active',
    });
    expect(again).toMatchObject({ created: false, subscriber: { id: subscriber.id, email: 'Leser@Bücher.example' } });
  });

  it('a reader stored by an older version with an address the rule now refuses can still be found and removed', async () => {
    const { subscriber } = await store.add({ email: 'old@example.org', newsletterIds: ['daily'], status: 'active' });
    const older = `${'a'.repeat(70)}@example.org`;
    await redis.hset(keys.subscriber(subscriber.id), 'email', older);
    await redis.hset(keys.subscriberByEmail, older, subscriber.id);
    expect((await store.getByEmail(older))?.email).toBe(older);
    expect((await store.unsubscribe(subscriber.id))?.status).toBe('unsubscribed');
  });

  it.each([
    [
      'a part before @ over 64 octets',
      `${'a'.repeat(65)}@example.org`,
      'email: the part before the at sign must be at most 64 octets',
    ],
    ['a line break', 'reader@example.org\r\nBcc: other@example.org', 'email: must not contain line breaks'],
    [
      'a part before @ that would need SMTPUTF8',
      'zoë@example.org',
      'email: the part before the at sign must be plain ASCII',
    ],
    ['a domain that is not one', 'reader@exa mple.org', 'email: the part after the at sign must be a domain name'],
  ])('refuses %s with the reason, naming the field', async (_what, email, reason) => {
    await expect(store.add({ email, newsletterIds: ['daily'], status: 'active' })).rejects.toThrow(reason);
    expect(await redis.exists(keys.subscriberNextId)).toBe(0);
  });
});
