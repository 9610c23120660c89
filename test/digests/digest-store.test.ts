import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Digest, DigestBody } from '../../src/digests/digest.js';
import { RedisDigestStore } from '../../src/digests/digest-store.js';
import { isAppError } from '../../src/errors.js';
import { redisKeys, type RedisKeys } from '../../src/redis.js';
import { openTestRedis } from '../helpers/redis.js';

let redis: Redis;
let keys: RedisKeys;
let store: RedisDigestStore;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const opened = await openTestRedis('digest-store');
  redis = opened.redis;
  cleanup = opened.cleanup;
  keys = redisKeys(opened.prefix);
  store = new RedisDigestStore(redis, keys);
});

afterAll(async () => {
  await cleanup();
});

let sequence = 0;
function makeDigest(overrides: Partial<Digest> = {}): Digest {
  sequence += 1;
  return {
    id: `daily-20251127-0600${String(sequence).padStart(2, '0')}-ab${sequence}`,
    newsletterId: 'daily',
    status: 'ready',
    subject: 'The Daily Digest: Harbour wall to be rebuilt, and 3 more',
    articleIds: ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb'],
    createdAt: new Date(Date.UTC(2025, 10, 27, 6, 0, sequence)).toISOString(),
    counts: { recipients: 0, delivered: 0, failed: 0, skipped: 0 },
    ...overrides,
  };
}

const body: DigestBody = {
  subject: 'The Daily Digest: Harbour wall to be rebuilt, and 3 more',
  preheader: 'Also in this issue: ...',
  html: ['<p>', 'unsubscribeUrl', '</p><p>', 'preferencesUrl', '</p>'],
  text: ['Unsubscribe: ', 'unsubscribeUrl', '\nPreferences: ', 'preferencesUrl', '\n'],
};

describe('the digest store', () => {
  it('a created digest reads back whole, with its frozen body', async () => {
    const digest = makeDigest({ since: '2025-11-26T06:00:00.000Z' });
    await store.create(digest, body);
    expect(await store.get(digest.id)).toEqual(digest);
    expect(await store.getBody(digest.id)).toEqual(body);
  });

  it('keeps one hash field per property, counters as integers the delivery ledger can increment', async () => {
    const digest = makeDigest();
    await store.create(digest, body);
    const hash = await redis.hgetall(keys.digest(digest.id));
    expect(Object.keys(hash).sort()).toEqual(
      [
        'articleIds',
        'createdAt',
        'delivered',
        'failed',
        'id',
        'newsletterId',
        'recipients',
        'skipped',
        'status',
        'subject',
      ].sort(),
    );
    expect(JSON.parse(hash.articleIds!)).toEqual(digest.articleIds);
    await redis.hincrby(keys.digest(digest.id), 'delivered', 5);
    await redis.hset(keys.digest(digest.id), 'recipients', '9');
    await redis.hdel(keys.digest(digest.id), 'skipped');
    expect((await store.get(digest.id))?.counts).toEqual({ recipients: 9, delivered: 5, failed: 0, skipped: 0 });
  });

  it('an unknown digest is simply absent', async () => {
    expect(await store.get('daily-19990101-000000-zzzz')).toBeUndefined();
    expect(await store.getBody('daily-19990101-000000-zzzz')).toBeUndefined();
  });

  it('creation is all or nothing: an invalid digest leaves no trace', async () => {
    const digest = makeDigest({ id: 'NOT VALID' });
    await expect(store.create(digest, body)).rejects.toThrow(/id/);
    expect(await redis.exists(keys.digest('NOT VALID'), keys.digestBody('NOT VALID'))).toBe(0);
    const broken = makeDigest();
    await expect(store.create(broken, { ...body, subject: '' })).rejects.toThrow(/subject/);
    expect(await store.get(broken.id)).toBeUndefined();
  });

  it('lists a newsletter’s digests newest first, apart from other newsletters’', async () => {
    const first = makeDigest({ newsletterId: 'weekly', id: `weekly-20251120-060000-aaa${sequence}` });
    const second = makeDigest({ newsletterId: 'weekly', id: `weekly-20251127-060000-bbb${sequence}` });
    await store.create(first, body);
    await store.create(second, body);
    expect((await store.listByNewsletter('weekly', 10)).map((d) => d.id)).toEqual([second.id, first.id]);
    expect((await store.listByNewsletter('weekly', 1)).map((d) => d.id)).toEqual([second.id]);
    expect(await store.listByNewsletter('nobody', 10)).toEqual([]);
    const all = await store.list(100);
    expect(all.map((d) => d.id)).toContain(first.id);
    expect(all[0]!.id).toBe(second.id);
  });

  it('updates change only the given fields, and a field given as undefined is cleared', async () => {
    const digest = makeDigest();
    await store.create(digest, body);
    await store.update(digest.id, { status: 'paused', pausedReason: 'relay refused 50 in a row' });
    expect(await store.get(digest.id)).toMatchObject({
      status: 'paused',
      pausedReason: 'relay refused 50 in a row',
      subject: digest.subject,
    });
    await store.update(digest.id, {
      status: 'sending',
      pausedReason: undefined,
      sendRequestedAt: '2025-11-27T07:00:00.000Z',
    });
    const after = await store.get(digest.id);
    expect(after?.status).toBe('sending');
    expect(after?.pausedReason).toBeUndefined();
    expect(after?.sendRequestedAt).toBe('2025-11-27T07:00:00.000Z');
  });

  it('updating a digest that does not exist fails and creates nothing', async () => {
    let caught: unknown;
    try {
      await store.update('daily-19990101-000000-none', { status: 'sent' });
    } catch (error) {
      caught = error;
    }
    expect(isAppError(caught, 'digest_not_found')).toBe(true);
    expect(await redis.exists(keys.digest('daily-19990101-000000-none'))).toBe(0);
  });

  it('an update with an impossible status is refused', async () => {
    const digest = makeDigest();
    await store.create(digest, body);
    await expect(store.update(digest.id, { status: 'exploded' as Digest['status'] })).rejects.toThrow(/status/);
    expect((await store.get(digest.id))?.status).toBe('ready');
  });
});
