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

const NONE_REFUSED = { outdated: 0, collisions: 0, refused: [] };

function articlesOf(items: RssItemSeed[], source = 'https://feed.example/feed.xml'): Article[] {
  return parseFeed(Buffer.from(buildRss(items)), {
    source,
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
    expect(await store.upsertMany(articles)).toEqual({ ingested: 3, updated: 0, unchanged: 0, ...NONE_REFUSED });
    for (const article of articles) expect(await store.get(article.id)).toEqual(article);
    expect(await store.getMany([articles[2]!.id, 'f'.repeat(32), articles[0]!.id])).toEqual([articles[2], articles[0]]);
  });

  it('counts a re-ingest of the same feed as unchanged and writes nothing', async () => {
    await store.upsertMany(articlesOf(items));
    const before = await redis.get(redisKeys(prefix).article(articlesOf(items)[0]!.id));
    expect(await store.upsertMany(articlesOf(items))).toEqual({
      ingested: 0,
      updated: 0,
      unchanged: 3,
      ...NONE_REFUSED,
    });
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
    expect(await store.upsertMany(articlesOf(edited))).toEqual({
      ingested: 0,
      updated: 1,
      unchanged: 2,
      ...NONE_REFUSED,
    });
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

describe('versions and sources', () => {
  const story = (title: string, pubDate?: string): RssItemSeed => ({
    title,
    link: 'https://paper.example/bridge',
    description: 'Bridge works',
    ...(pubDate ? { pubDate } : {}),
  });

  it('never lets an older version replace a newer one, and reports the refusal', async () => {
    const [newer] = articlesOf([story('Bridge closes Tuesday', 'Thu, 26 Nov 2026 11:00:00 GMT')]);
    const [older] = articlesOf([story('Bridge closes Monday', 'Wed, 25 Nov 2026 09:00:00 GMT')]);
    await store.upsertMany([newer!]);
    expect(await store.upsertMany([older!])).toEqual({
      ingested: 0,
      updated: 0,
      unchanged: 0,
      outdated: 1,
      collisions: 0,
      refused: [
        {
          articleId: newer!.id,
          title: 'Bridge closes Monday',
          url: 'https://paper.example/bridge',
          reason: 'outdated',
        },
      ],
    });
    expect((await store.get(newer!.id))?.title).toBe('Bridge closes Tuesday');
    // The same date with new content is a correction the source did not date: it is taken.
    const [sameTime] = articlesOf([story('Bridge closes Tuesday night', 'Thu, 26 Nov 2026 11:00:00 GMT')]);
    expect(await store.upsertMany([sameTime!])).toMatchObject({ updated: 1, outdated: 0 });
    expect((await store.get(newer!.id))?.title).toBe('Bridge closes Tuesday night');
  });

  it('takes a dated version over an undated one, whichever came first, since no order is known', async () => {
    const [undated] = articlesOf([story('Bridge works begin')]);
    const [dated] = articlesOf([story('Bridge works begin in spring', 'Mon, 02 Nov 2026 09:00:00 GMT')]);
    await store.upsertMany([undated!]);
    expect(await store.upsertMany([dated!])).toMatchObject({ updated: 1, outdated: 0 });
    expect((await store.get(dated!.id))?.title).toBe('Bridge works begin in spring');
  });

  it('refuses a change from a source that did not create the article, and names the owner', async () => {
    const [cms] = articlesOf([story('Ferry timetable changes', 'Thu, 26 Nov 2026 11:00:00 GMT')], 'webhook');
    const [intruder] = articlesOf(
      [story('Ferry cancelled for good', 'Fri, 27 Nov 2026 11:00:00 GMT')],
      'https://aggregator.example/feed.xml?key=s3cret',
    );
    await store.upsertMany([cms!]);
    const counts = await store.upsertMany([intruder!]);
    expect(counts).toMatchObject({ updated: 0, collisions: 1, outdated: 0 });
    expect(counts.refused).toEqual([
      {
        articleId: cms!.id,
        title: 'Ferry cancelled for good',
        url: 'https://paper.example/bridge',
        reason: 'owned-by-another-source',
        ownedBy: 'webhook',
      },
    ]);
    expect(await store.get(cms!.id)).toEqual(cms);

    // The owner still updates it; the same content from elsewhere changes nothing and is no collision.
    const [ownUpdate] = articlesOf(
      [story('Ferry timetable changes again', 'Fri, 27 Nov 2026 12:00:00 GMT')],
      'webhook',
    );
    expect(await store.upsertMany([ownUpdate!])).toMatchObject({ updated: 1, collisions: 0 });
    const [copy] = articlesOf(
      [story('Ferry timetable changes again', 'Fri, 27 Nov 2026 12:00:00 GMT')],
      'https://aggregator.example/feed.xml',
    );
    expect(await store.upsertMany([copy!])).toMatchObject({ unchanged: 1, collisions: 0 });
  });

  it('names the owner of a collision without the key in its feed URL', async () => {
    const [owned] = articlesOf([story('Harbour dues rise')], 'https://private.example/feed.xml?key=s3cret');
    const [other] = articlesOf([story('Harbour dues fall')], 'webhook');
    await store.upsertMany([owned!]);
    const counts = await store.upsertMany([other!]);
    expect(counts.refused[0]?.ownedBy).toBe('https://private.example/feed.xml?…');
    expect(JSON.stringify(counts)).not.toContain('s3cret');
  });

  it('keeps an article stored before sources were recorded with the source named in it', async () => {
    const [legacy] = articlesOf([story('Old story', 'Mon, 02 Nov 2026 09:00:00 GMT')], 'https://paper.example/feed');
    await redis.set(redisKeys(prefix).article(legacy!.id), JSON.stringify(legacy));
    await redis.zadd(redisKeys(prefix).articlesByPublished, Date.parse(legacy!.publishedAt), legacy!.id);
    const [taken] = articlesOf([story('Old story, retold', 'Tue, 03 Nov 2026 09:00:00 GMT')], 'webhook');
    expect(await store.upsertMany([taken!])).toMatchObject({ collisions: 1 });
    const [own] = articlesOf(
      [story('Old story, updated', 'Tue, 03 Nov 2026 09:00:00 GMT')],
      'https://paper.example/feed',
    );
    expect(await store.upsertMany([own!])).toMatchObject({ updated: 1 });
  });
});
