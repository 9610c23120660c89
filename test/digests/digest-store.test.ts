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

  it('a second digest with an id already in use is refused, and the first one stays exactly as it was', async () => {
    const first = makeDigest({ subject: 'The first issue' });
    await store.create(first, body);
    await redis.hincrby(keys.digest(first.id), 'delivered', 3);
    const indexed = await redis.zscore(keys.digestsByCreated, first.id);

    const collision = makeDigest({ id: first.id, subject: 'A different issue', status: 'ready' });
    let caught: unknown;
    try {
      await store.create(collision, { ...body, subject: 'A different issue' });
    } catch (error) {
      caught = error;
    }
    expect(isAppError(caught, 'digest_state')).toBe(true);
    expect(await store.get(first.id)).toEqual({ ...first, counts: { ...first.counts, delivered: 3 } });
    expect(await store.getBody(first.id)).toEqual(body);
    expect(await redis.zscore(keys.digestsByCreated, first.id)).toBe(indexed);
  });
});
