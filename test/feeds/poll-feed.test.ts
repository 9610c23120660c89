/**
 * Feeds polled on their own, against a real HTTP server on this machine: conditional GET (304), a server that never
 * answers, a feed that keeps failing (backoff, no request while waiting), and the job schedulers the config asks for.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisArticleStore } from '../../src/articles/article-store.js';
import { ingestSources } from '../../src/articles/ingest-sources.js';
import { NewsletterSchema } from '../../src/config.js';
import { feedIdFor } from '../../src/feeds/feed-state.js';
import { RedisFeedStateStore } from '../../src/feeds/feed-state-store.js';
import { pollFeed, type PollFeedDeps } from '../../src/feeds/poll-feed.js';
import { silentLogger } from '../../src/logger.js';
import { createDeliveryQueues, type DeliveryQueues } from '../../src/queue/queues.js';
import { syncSchedulers } from '../../src/queue/sync-schedulers.js';
import { redisKeys } from '../../src/redis.js';
import { buildRss } from '../articles/feed-fixtures.js';
import { sampleSite } from '../digests/sample-articles.js';
import { openTestRedis } from '../helpers/redis.js';

const INTERVAL = 15 * 60_000;

let server: Server;
let base: string;
let redis: Redis;
let cleanup: () => Promise<void>;
let feeds: RedisFeedStateStore;
let articles: RedisArticleStore;
/** What the server saw, per path. */
const seen = new Map<string, IncomingHttpHeaders[]>();
let version = 1;
let isBroken = true;

beforeAll(async () => {
  server = createServer((request, response) => {
    const path = request.url ?? '';
    seen.set(path, [...(seen.get(path) ?? []), request.headers]);
    if (path === '/news.xml') {
      const etag = `"v${version}"`;
      const lastModified = new Date(Date.UTC(2026, 0, version)).toUTCString();
      if (request.headers['if-none-match'] === etag) return void response.writeHead(304, { etag }).end();
      const items = Array.from({ length: version + 1 }, (_, i) => ({
        title: `Harbour story ${i + 1}`,
        link: `https://harbourgazette.example/story-${i + 1}`,
        pubDate: new Date(Date.UTC(2026, 0, 1, i)).toUTCString(),
      }));
      response.writeHead(200, { 'content-type': 'application/rss+xml', etag, 'last-modified': lastModified });
      return void response.end(buildRss(items));
    }
    if (path === '/broken.xml') {
      if (isBroken) return void response.writeHead(503).end('down for maintenance');
      return void response
        .writeHead(200, { 'content-type': 'application/rss+xml' })
        .end(buildRss([{ title: 'Back again', link: 'https://harbourgazette.example/back' }]));
    }
    // /silent.xml: never answers.
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const opened = await openTestRedis('feeds');
  redis = opened.redis;
  cleanup = opened.cleanup;
  const keys = redisKeys(opened.prefix);
  feeds = new RedisFeedStateStore(redis, keys);
  articles = new RedisArticleStore(redis, keys);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await cleanup();
});

function depsAt(now: { at: Date }, fetchTimeoutMs = 5_000): PollFeedDeps {
  return {
    feeds,
    ingest: (sources, options) =>
      ingestSources(
        // The test's feed server is on 127.0.0.1, which the guarded fetch refuses unless told otherwise.
        { store: articles, logger: silentLogger, maxBytes: 1_000_000, fetchTimeoutMs, allowPrivateAddresses: true },
        sources,
        options,
      ),
    clock: () => now.at,
    logger: silentLogger,
  };
}

describe('polling a configured feed', () => {
  it('asks only for a changed feed: a 304 stores nothing, a new version is read again', async () => {
    const url = `${base}/news.xml`;
    const feed = { feedId: feedIdFor(url), url, intervalMs: INTERVAL };
    const now = { at: new Date('2026-01-05T10:00:00Z') };
    const first = await pollFeed(depsAt(now), feed);
    expect(first).toMatchObject({ outcome: 'ok', state: { lastIngested: 2, etag: '"v1"', consecutiveFailures: 0 } });
    expect(seen.get('/news.xml')?.[0]?.['if-none-match']).toBeUndefined();

    now.at = new Date('2026-01-05T10:15:00Z');
    const second = await pollFeed(depsAt(now), feed);
    expect(second.outcome).toBe('not-modified');
    const asked = seen.get('/news.xml')?.[1];
    expect(asked?.['if-none-match']).toBe('"v1"');
    expect(asked?.['if-modified-since']).toBe(new Date(Date.UTC(2026, 0, 1)).toUTCString());
    expect(await articles.list(10)).toHaveLength(2);
    expect(await feeds.get(feed.feedId)).toMatchObject({
      lastOutcome: 'not-modified',
      lastPolledAt: now.at.toISOString(),
    });

    version = 2;
    now.at = new Date('2026-01-05T10:30:00Z');
    const third = await pollFeed(depsAt(now), feed);
    expect(third).toMatchObject({ outcome: 'ok', state: { lastIngested: 1, etag: '"v2"' } });
    expect(await articles.list(10)).toHaveLength(3);
  });

  it('cuts off a feed that never answers at the time limit, and says so', async () => {
    const url = `${base}/silent.xml`;
    const now = { at: new Date('2026-01-05T11:00:00Z') };
    const result = await pollFeed(depsAt(now, 300), { feedId: feedIdFor(url), url, intervalMs: INTERVAL });
    expect(result).toMatchObject({
      outcome: 'failed',
      state: {
        lastError: 'no response within 300 ms',
        consecutiveFailures: 1,
        retryAfter: new Date(now.at.getTime() + INTERVAL).toISOString(),
      },
    });
  });

  it('backs off a feed that fails five times, asks nothing while it waits, and forgets it all on success', async () => {
    const url = `${base}/broken.xml`;
    const feed = { feedId: feedIdFor(url), url, intervalMs: INTERVAL };
    const now = { at: new Date('2026-01-06T00:00:00Z') };
    const waits: number[] = [];
    for (let failure = 1; failure <= 5; failure += 1) {
      // A tick halfway through the wait: no request at all.
      const before = seen.get('/broken.xml')?.length ?? 0;
      if (failure > 1) {
        const early = { at: new Date(now.at.getTime() - waits.at(-1)! / 2) };
        expect((await pollFeed(depsAt(early), feed)).outcome).toBe('backing-off');
        expect(seen.get('/broken.xml')?.length ?? 0).toBe(before);
      }
      const result = await pollFeed(depsAt(now), feed);
      if (result.outcome !== 'failed') throw new Error(`poll ${failure} did not fail`);
      expect(result.state).toMatchObject({ consecutiveFailures: failure, lastError: 'HTTP 503 Service Unavailable' });
      const wait = Date.parse(result.state.retryAfter!) - now.at.getTime();
      waits.push(wait);
      now.at = new Date(now.at.getTime() + wait);
    }
    expect(waits.map((ms) => ms / INTERVAL)).toEqual([1, 2, 4, 8, 16]);
    expect(seen.get('/broken.xml')).toHaveLength(5);

    isBroken = false;
    const recovered = await pollFeed(depsAt(now), feed);
    expect(recovered).toMatchObject({ outcome: 'ok', state: { consecutiveFailures: 0, lastIngested: 1 } });
    expect((await feeds.get(feed.feedId))?.retryAfter).toBeUndefined();
  });
});

describe('the job schedulers of feeds and newsletter schedules', () => {
  let queues: DeliveryQueues;
  beforeAll(async () => {
    const opened = await openTestRedis('schedulers');
    queues = createDeliveryQueues({ connection: opened.redis, prefix: redisKeys(opened.prefix).bullPrefix });
    return async () => {
      await queues.close();
      await opened.cleanup();
    };
  });

  it('keeps one scheduler per feed URL and per schedule, and drops those the config no longer names', async () => {
    const shared = 'https://harbourgazette.example/feed.xml';
    const newsletters = [
      NewsletterSchema.parse({
        id: 'daily',
        name: 'Daily',
        feeds: [{ url: shared, interval: '30m' }],
        schedule: { cron: '0 6 * * 1-5', timeZone: 'Europe/London', mode: 'send' },
      }),
      NewsletterSchema.parse({ id: 'culture', name: 'Culture', feeds: [{ url: shared, interval: '10m' }] }),
    ];
    const site = sampleSite();
    expect(await syncSchedulers(queues, { newsletters, site })).toMatchObject({ feeds: 1, schedules: 1 });
    const automation = queues.queues.automation;
    const feedScheduler = await automation.getJobScheduler(`feed-${feedIdFor(shared)}`);
    expect(feedScheduler).toMatchObject({ every: 10 * 60_000, name: 'feed-poll' });
    const schedule = await automation.getJobScheduler('newsletter-daily');
    expect(schedule).toMatchObject({ pattern: '0 6 * * 1-5', tz: 'Europe/London', name: 'newsletter-run' });

    const fewer = [NewsletterSchema.parse({ id: 'daily', name: 'Daily' })];
    const synced = await syncSchedulers(queues, { newsletters: fewer, site });
    expect(synced.removed.sort()).toEqual([`feed-${feedIdFor(shared)}`, 'newsletter-daily'].sort());
    expect(await automation.getJobSchedulersCount()).toBe(0);
  });
});
