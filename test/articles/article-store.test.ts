import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { RedisArticleStore } from '../../src/articles/article-store.js';
import { parseFeed } from '../../src/articles/parse-feed.js';
import type { Article } from '../../src/articles/article.js';
import { redisKeys } from '../../src/redis.js';
import { openTestRedis } from '../helpers/redis.js';
import { buildRss, type RssItemSeed } from './feed-fixtures.js';

let redis: Redis;
let prefix: string;
let cleanup: () => Promise<void>;
let store: RedisArticleStore;

beforeEach(async () => {
  ({ redis, prefix, cleanup } = await openTestRedis('articles'));
  store = new RedisArticleStore(redis, redisKeys(prefix));
});

afterEach(async () => {
  await cleanup();
});

function articlesOf(items: RssItemSeed[]): Article[] {
  return parseFeed(Buffer.from(buildRss(items)), {
    source: 'https://feed.example/feed.xml',
    maxBytes: 1_000_000,
    now: new Date('2026-11-27T12:00:00Z'),
  }).articles;
}

const items: RssItemSeed[] = [
  {
    title: 'Quay wall',
    link: 'https://paper.example/1',
    pubDate: 'Wed, 25 Nov 2026 08:00:00 GMT',
    description: 'Repairs',
  },
  {
    title: 'Seahorses',
    link: 'https://paper.example/2',
    pubDate: 'Wed, 25 Nov 2026 10:00:00 GMT',
    description: 'Eelgrass',
  },
  {
    title: 'Rovers draw',
    link: 'https://paper.example/3',
    pubDate: 'Thu, 26 Nov 2026 09:00:00 GMT',
    description: 'Late header',
  },
];

describe('storing articles', () => {
  it('stores a new feed and reads every article back exactly', async () => {
    const articles = articlesOf(items);
    expect(await store.upsertMany(articles)).toEqual({ ingested: 3, updated: 0, unchanged: 0 });
    for (const article of articles) expect(await store.get(article.id)).toEqual(article);
    expect(await store.getMany([articles[2]!.id, 'f'.repeat(32), articles[0]!.id])).toEqual([articles[2], articles[0]]);
  });

  it('counts a re-ingest of the same feed as unchanged and writes nothing', async () => {
    await store.upsertMany(articlesOf(items));
    const before = await redis.get(redisKeys(prefix).article(articlesOf(items)[0]!.id));
    expect(await store.upsertMany(articlesOf(items))).toEqual({ ingested: 0, updated: 0, unchanged: 3 });
    expect(await redis.get(redisKeys(prefix).article(articlesOf(items)[0]!.id))).toBe(before);
  });

  it('updates a changed article in place: same id, new content, one index entry', async () => {
    await store.upsertMany(articlesOf(items));
    const edited = items.map((item) =>
      item.title === 'Seahorses'
        ? { ...item, title: 'Seahorses return', pubDate: 'Thu, 26 Nov 2026 11:00:00 GMT' }
        : item,
    );
    const [_, changed] = articlesOf(edited);
    expect(await store.upsertMany(articlesOf(edited))).toEqual({ ingested: 0, updated: 1, unchanged: 2 });
    expect(await store.get(changed!.id)).toMatchObject({ title: 'Seahorses return' });
    expect(await redis.zcard(redisKeys(prefix).articlesByPublished)).toBe(3);
    // The new publication time moved it to the top.
    expect((await store.list(1))[0]?.title).toBe('Seahorses return');
  });

  it('lists newest first, and only articles published after a cut-off', async () => {
    await store.upsertMany(articlesOf(items));
    expect((await store.list(10)).map((a) => a.title)).toEqual(['Rovers draw', 'Seahorses', 'Quay wall']);
    expect((await store.list(2)).map((a) => a.title)).toEqual(['Rovers draw', 'Seahorses']);
    const since = new Date('2026-11-25T10:00:00Z');
    expect((await store.listPublishedSince(since, 10)).map((a) => a.title)).toEqual(['Rovers draw']);
    expect(await store.listPublishedSince(new Date('2026-12-01T00:00:00Z'), 10)).toEqual([]);
  });

  it('stores all of a batch or none of it', async () => {
    const articles = articlesOf(items);
    const broken = { ...articles[1]!, url: 'not a url' } as Article;
    await expect(store.upsertMany([articles[0]!, broken, articles[2]!])).rejects.toThrow();
    expect(await redis.zcard(redisKeys(prefix).articlesByPublished)).toBe(0);
    expect(await store.get(articles[0]!.id)).toBeUndefined();
  });

  it('counts each article once when two ingests of the same feed race', async () => {
    const other = redis.duplicate();
    try {
      const racing = new RedisArticleStore(other, redisKeys(prefix));
      const results = await Promise.all([store.upsertMany(articlesOf(items)), racing.upsertMany(articlesOf(items))]);
      expect(results.reduce((sum, r) => sum + r.ingested, 0)).toBe(3);
      expect(results.reduce((sum, r) => sum + r.unchanged, 0)).toBe(3);
    } finally {
      other.disconnect();
    }
  });
});
