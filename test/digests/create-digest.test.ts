import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Article } from '../../src/articles/article.js';
import {
  createDigest,
  LATE_ARRIVAL_WINDOW_MS,
  makeDigestId,
  type CreateDigestDeps,
} from '../../src/digests/create-digest.js';
import { DigestSchema } from '../../src/digests/digest.js';
import { RedisDigestStore } from '../../src/digests/digest-store.js';
import { fillSlots } from '../../src/digests/fill-slots.js';
import { isAppError } from '../../src/errors.js';
import { redisKeys, type RedisKeys } from '../../src/redis.js';
import { openTestRedis } from '../helpers/redis.js';
import { sampleArticles, sampleNewsletter, sampleSite } from './sample-articles.js';

let redis: Redis;
let keys: RedisKeys;
let digests: RedisDigestStore;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const opened = await openTestRedis('create-digest');
  redis = opened.redis;
  cleanup = opened.cleanup;
  keys = redisKeys(opened.prefix);
  digests = new RedisDigestStore(redis, keys);
});

afterAll(async () => {
  await cleanup();
});

/** The article store's contract, in memory: newest first, published after `since`, at most `limit`. */
function articleSource(articles: Article[]) {
  const calls: { since: Date | undefined; limit: number }[] = [];
  return {
    calls,
    async listPublishedSince(since: Date | undefined, limit: number): Promise<Article[]> {
      calls.push({ since, limit });
      return articles
        .filter((a) => !since || Date.parse(a.publishedAt) > since.getTime())
        .sort((a, b) => Date.parse(b.publishedAt) - Date.parse(a.publishedAt))
        .slice(0, limit);
    },
  };
}

const NOW = new Date('2025-11-27T06:00:05Z');

function deps(source: ReturnType<typeof articleSource>, lastSentAt?: Date): CreateDigestDeps {
  return { articles: source, digests, lastSentAt: async () => lastSentAt, clock: () => NOW };
}

describe('creating a digest', () => {
  it('a newsletter that never sent gets its newest articles, stored ready to send with the frozen body', async () => {
    const source = articleSource(sampleArticles());
    const newsletter = sampleNewsletter({ maxArticles: 4 });
    const digest = await createDigest(deps(source), { newsletter, site: sampleSite() });

    expect(digest.id).toMatch(/^daily-20251127-060005-[a-z0-9]{4}$/);
    expect(DigestSchema.parse(digest)).toEqual(digest);
    expect(digest.status).toBe('ready');
    expect(digest.since).toBeUndefined();
    expect(source.calls).toEqual([{ since: undefined, limit: 4 }]);
    expect(digest.articleIds).toHaveLength(4);

    expect(await digests.get(digest.id)).toEqual(digest);
    const body = await digests.getBody(digest.id);
    expect(body?.subject).toBe(digest.subject);
    expect(digest.subject).toBe('The Daily Digest: Harbour wall to be rebuilt after winter storms, and 3 more');
    expect((await digests.listByNewsletter('daily', 5)).map((d) => d.id)).toContain(digest.id);
  });

  it('the articles are stored in the order the digest shows them, grouped by section', async () => {
    const source = articleSource(sampleArticles());
    const digest = await createDigest(deps(source), {
      newsletter: sampleNewsletter({ id: 'order' }),
      site: sampleSite(),
    });
    const byId = new Map(sampleArticles().map((a) => [a.id, a]));
    expect(digest.articleIds.map((id) => byId.get(id)?.section.toLowerCase())).toEqual([
      'news',
      'news',
      'news',
      'business',
      'business',
      'culture',
      'culture',
      'opinion',
    ]);
  });

  it('the next digest brings what is new since the last send, late arrivals included, and repeats nothing', async () => {
    const lastSent = new Date('2025-11-26T12:00:00Z');
    const all = sampleArticles();
    const at = (iso: string) => all.find((a) => a.publishedAt === iso) as Article;
    // The previous digest went out with everything published up to the send but the article of 25 Nov 16:45, which
    // reached the store only after that send (an hourly poll, a backdated CMS post) and was never in a digest.
    const earlier = ['2025-11-24T19:30:00Z', '2025-11-25T10:00:00Z', '2025-11-26T09:00:00Z', '2025-11-26T12:00:00Z'];
    const previous = await createDigest(deps(articleSource(earlier.map(at))), {
      newsletter: sampleNewsletter({ id: 'late' }),
      site: sampleSite(),
    });
    await redis.hset(keys.digest(previous.id), 'status', 'sent');

    const digest = await createDigest(deps(articleSource(all), lastSent), {
      newsletter: sampleNewsletter({ id: 'late' }),
      site: sampleSite(),
    });
    expect(digest.since).toBe(lastSent.toISOString());
    const carried = new Set(digest.articleIds.map((id) => all.find((a) => a.id === id)?.publishedAt));
    expect([...carried].sort()).toEqual([
      '2025-11-25T16:45:00Z', // late arrival, within the window
      '2025-11-26T18:00:00Z',
      '2025-11-27T07:10:00Z',
      '2025-11-27T08:30:00Z',
    ]);
  });

  it('does not reach back further than the late-arrival window', async () => {
    const lastSent = new Date(Date.parse('2025-11-24T19:30:00Z') + LATE_ARRIVAL_WINDOW_MS + 60_000);
    const source = articleSource(sampleArticles());
    const digest = await createDigest(deps(source, lastSent), {
      newsletter: sampleNewsletter({ id: 'window' }),
      site: sampleSite(),
    });
    const oldest = sampleArticles().find((a) => a.publishedAt === '2025-11-24T19:30:00Z');
    expect(digest.articleIds).not.toContain(oldest?.id);
    expect(digest.articleIds.length).toBeGreaterThan(0);
  });

  it('an editor’s explicit window wins over the last send', async () => {
    const source = articleSource(sampleArticles());
    const since = new Date('2025-11-27T07:00:00Z');
    const digest = await createDigest(deps(source, new Date('2020-01-01T00:00:00Z')), {
      newsletter: sampleNewsletter({ id: 'explicit' }),
      site: sampleSite(),
      since,
    });
    expect(digest.articleIds).toHaveLength(2);
    expect(source.calls[0]?.since).toEqual(since);
  });

  it('a newsletter of chosen sections looks further back than its cap so other sections do not crowd it out', async () => {
    const source = articleSource(sampleArticles());
    const newsletter = sampleNewsletter({
      id: 'culture',
      name: 'Culture Weekly',
      sections: ['Culture'],
      maxArticles: 2,
    });
    const digest = await createDigest(deps(source), { newsletter, site: sampleSite() });
    expect(source.calls[0]!.limit).toBeGreaterThan(2);
    expect(digest.articleIds).toHaveLength(2);
    expect(digest.id.startsWith('culture-')).toBe(true);
  });

  it('with nothing new there is no digest, and nothing is stored', async () => {
    const source = articleSource(sampleArticles());
    const before = await redis.zcard(keys.digestsByCreated);
    let caught: unknown;
    try {
      await createDigest(deps(source, new Date('2025-12-01T00:00:00Z')), {
        newsletter: sampleNewsletter(),
        site: sampleSite(),
      });
    } catch (error) {
      caught = error;
    }
    expect(isAppError(caught, 'digest_empty')).toBe(true);
    expect((caught as Error).message).toMatch(/since 2025-12-01/);
    expect(await redis.zcard(keys.digestsByCreated)).toBe(before);
  });

  it('the stored body renders for a reader with their links in both parts', async () => {
    const source = articleSource(sampleArticles());
    const digest = await createDigest(deps(source), {
      newsletter: sampleNewsletter({ id: 'body', maxArticles: 2 }),
      site: sampleSite(),
    });
    const body = await digests.getBody(digest.id);
    const links = { unsubscribeUrl: 'https://x.example/u/1', preferencesUrl: 'https://x.example/p/1' };
    expect(fillSlots(body!.text, links)).toContain('https://x.example/u/1');
    expect(fillSlots(body!.html, links)).toContain('href="https://x.example/p/1"');
  });

  it('two digests drawing the same id both exist afterwards: the second gets a new id instead of overwriting', async () => {
    const source = articleSource(sampleArticles());
    const newsletter = sampleNewsletter({ id: 'collide', maxArticles: 2 });
    const drawn = ['daily-20251127-060005-same', 'daily-20251127-060005-same', 'daily-20251127-060005-next'];
    const makeId = () => drawn.shift() ?? 'daily-20251127-060005-none';
    const first = await createDigest({ ...deps(source), makeId }, { newsletter, site: sampleSite() });
    const second = await createDigest(
      { ...deps(source), makeId },
      { newsletter: sampleNewsletter({ id: 'collide', maxArticles: 3 }), site: sampleSite() },
    );

    expect(first.id).toBe('daily-20251127-060005-same');
    expect(second.id).toBe('daily-20251127-060005-next');
    expect(await digests.get(first.id)).toEqual(first);
    expect(await digests.get(second.id)).toEqual(second);
    expect((await digests.get(first.id))?.articleIds).toHaveLength(2);
  });

  it('digest ids carry the newsletter, the UTC time and a random suffix, in lower case', () => {
    const ids = new Set(Array.from({ length: 50 }, () => makeDigestId('my_news', new Date('2025-01-02T03:04:05Z'))));
    for (const id of ids) expect(id).toMatch(/^my_news-20250102-030405-[a-z0-9]{4}$/);
    expect(ids.size).toBeGreaterThan(40);
  });
});
