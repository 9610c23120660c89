import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisArticleStore } from '../../src/articles/article-store.js';
import { ingestSources, type IngestSourcesDeps } from '../../src/articles/ingest-sources.js';
import { ingestWebhookPayload } from '../../src/articles/webhook-payload.js';
import { silentLogger } from '../../src/logger.js';
import { redisKeys } from '../../src/redis.js';
import { openTestRedis } from '../helpers/redis.js';
import { buildRss, SAMPLE_FEED } from './feed-fixtures.js';

type Route = (request: IncomingMessage, response: ServerResponse) => void;

let server: Server;
let baseUrl: string;
const routes = new Map<string, Route>();
/** Bytes the endless route managed to write before the client hung up, and whether it saw the hang-up. */
const endless = { written: 0, closedByClient: false };

beforeAll(async () => {
  server = createServer((request, response) => {
    const route = routes.get(request.url ?? '');
    if (route) route(request, response);
    else response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const rss = (title: string, link = '/story') =>
    buildRss([{ title, link, pubDate: 'Wed, 25 Nov 2026 10:00:00 GMT' }], { link: '' });
  routes.set('/feed.xml', (_req, res) =>
    res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(rss('Over HTTP')),
  );
  routes.set('/moved', (_req, res) => res.writeHead(301, { location: '/news/feed.xml' }).end());
  routes.set('/news/feed.xml', (_req, res) =>
    res.writeHead(200, { 'content-type': 'text/xml' }).end(rss('Moved', 'relative/story')),
  );
  routes.set('/cyrillic.xml', (_req, res) => {
    const body = iconv.encode(
      buildRss([{ title: 'Новости порта', link: 'https://x.example/1' }]).replace('UTF-8', 'ISO-8859-1'),
      'windows-1251',
    );
    res.writeHead(200, { 'content-type': 'text/xml; charset=windows-1251' }).end(body);
  });
  routes.set('/trickle.xml', (_req, res) => {
    // Headers and the start of a feed, then nothing, forever: a stalled or malicious server.
    res.writeHead(200, { 'content-type': 'application/rss+xml' });
    res.write('<?xml version="1.0"?><rss version="2.0"><channel><title>Never ends</title>');
  });
  routes.set('/silent.xml', () => {
    // Never answers at all.
  });
  routes.set('/endless.xml', (req, res) => {
    endless.written = 0;
    endless.closedByClient = false;
    res.writeHead(200, { 'content-type': 'application/rss+xml' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    res.on('close', () => {
      endless.closedByClient = !res.writableFinished;
    });
    const pump = () => {
      while (!res.destroyed && endless.written < 50 * 1024 * 1024) {
        endless.written += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!res.destroyed) res.end();
    };
    res.write('<?xml version="1.0"?><rss version="2.0"><channel>');
    pump();
    req.on('error', () => {});
  });
  routes.set('/declared-huge.xml', (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/rss+xml', 'content-length': String(80 * 1024 * 1024) });
    res.write('<rss>');
  });
  routes.set('/to-metadata', (_req, res) =>
    res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
  );
  routes.set('/cms-lookalike.xml', (_req, res) =>
    res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(
      buildRss([
        {
          guid: 'cms-1001',
          link: 'https://harbourgazette.example/news/ferry',
          title: 'Ferry cancelled for good',
          pubDate: 'Fri, 27 Nov 2026 11:00:00 GMT',
        },
      ]),
    ),
  );
  routes.set('/page.html', (_req, res) =>
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end('<!doctype html><html><head><title>Blog</title></head><body></body></html>'),
  );
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

let redis: Redis;
let prefix: string;
let cleanup: () => Promise<void>;
let deps: IngestSourcesDeps;

beforeEach(async () => {
  ({ redis, prefix, cleanup } = await openTestRedis('ingest'));
  deps = {
    store: new RedisArticleStore(redis, redisKeys(prefix)),
    logger: silentLogger,
    maxBytes: 256 * 1024,
    // Generous: on a loaded machine a healthy local fetch must never look like a stall. Stall tests shorten it.
    fetchTimeoutMs: 15_000,
    clock: () => new Date('2026-11-27T12:00:00Z'),
    // The test server is on 127.0.0.1; the tests of the address rules below turn this off.
    allowPrivateAddresses: true,
    allowFilePaths: true,
  };
});

afterEach(async () => {
  await cleanup();
});

const storedCount = () => redis.zcard(redisKeys(prefix).articlesByPublished);

describe('ingesting sources', () => {
  it('ingests a file and an http feed, and a second run finds them unchanged', async () => {
    const sources = [SAMPLE_FEED, `${baseUrl}/feed.xml`];
    const first = await ingestSources(deps, sources);
    expect(first).toMatchObject({ ingested: 13, updated: 0, unchanged: 0, rejected: [] });
    expect(first.sources.map((s) => [s.status, s.articles])).toEqual([
      ['ok', 12],
      ['ok', 1],
    ]);
    const second = await ingestSources(deps, sources);
    expect(second).toMatchObject({ ingested: 0, updated: 0, unchanged: 13 });
    expect(await storedCount()).toBe(13);
  });

  it('resolves relative links against the URL the feed ended up at after a redirect', async () => {
    await ingestSources(deps, [`${baseUrl}/moved`]);
    const [article] = await new RedisArticleStore(redis, redisKeys(prefix)).list(1);
    expect(article?.url).toBe(`${baseUrl}/news/relative/story`);
  });

  it('decodes with the charset the server declares, over the feed’s own declaration', async () => {
    await ingestSources(deps, [`${baseUrl}/cyrillic.xml`]);
    const [article] = await new RedisArticleStore(redis, redisKeys(prefix)).list(1);
    expect(article?.title).toBe('Новости порта');
  });

  it('cuts off a server that never finishes sending, and goes on with the other sources', async () => {
    const report = await ingestSources({ ...deps, fetchTimeoutMs: 400 }, [`${baseUrl}/trickle.xml`, SAMPLE_FEED]);
    expect(report.rejected).toEqual([
      {
        source: `${baseUrl}/trickle.xml`,
        reason: expect.stringMatching(/^feed_rejected: the feed did not finish arriving within 400 ms/),
      },
    ]);
    expect(report.sources[1]).toMatchObject({ status: 'ok', articles: 12 });
    expect(await storedCount()).toBe(12);
  });

  it('cuts off a server that never answers', async () => {
    const report = await ingestSources({ ...deps, fetchTimeoutMs: 400 }, [`${baseUrl}/silent.xml`]);
    expect(report.rejected[0]?.reason).toBe('feed_rejected: no response within 400 ms');
  });

  it('stops reading a feed as soon as it passes the size limit, without buffering the rest', async () => {
    const report = await ingestSources(deps, [`${baseUrl}/endless.xml`]);
    expect(report.rejected[0]?.reason).toMatch(/^feed_rejected: the feed is over the 262144-byte limit/);
    // The server would have sent 50 MB; the client hung up long before.
    await expect.poll(() => endless.closedByClient).toBe(true);
    expect(endless.written).toBeLessThan(50 * 1024 * 1024);
  });

  it('refuses a feed whose declared length is over the limit without reading it', async () => {
    const report = await ingestSources(deps, [`${baseUrl}/declared-huge.xml`]);
    expect(report.rejected[0]?.reason).toBe('feed_rejected: the feed is 83886080 bytes, over the 262144-byte limit');
  });

  it('refuses a file over the size limit before reading it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lp-ingest-'));
    try {
      const file = path.join(dir, 'big.xml');
      await writeFile(file, Buffer.alloc(300 * 1024, 0x20));
      const report = await ingestSources(deps, [file]);
      expect(report.rejected[0]?.reason).toBe('feed_rejected: the feed is 307200 bytes, over the 262144-byte limit');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports each unusable source with its reason and stores nothing from it', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const report = await ingestSources(deps, [
      `${baseUrl}/missing.xml`,
      `${baseUrl}/page.html`,
      'ftp://files.example/feed.xml',
      '/no/such/feed.xml',
      `http://127.0.0.1:${closedPort}/feed.xml`,
    ]);
    expect(report.rejected.map((r) => r.reason)).toEqual([
      'feed_rejected: HTTP 404 Not Found',
      'feed_rejected: not a feed (looks like an HTML page)',
      'feed_rejected: unsupported source scheme "ftp:" (use a file path or an http(s) URL)',
      'feed_rejected: cannot read /no/such/feed.xml (no such file)',
      expect.stringMatching(/^feed_rejected: could not fetch \(ECONNREFUSED/),
    ]);
    expect(report.sources.every((s) => s.status === 'rejected' && s.articles === 0)).toBe(true);
    expect(await storedCount()).toBe(0);
  });
});

describe('what ingest may reach', () => {
  it('refuses a feed URL on an inside address and never connects to it (ingest http://127.0.0.1:6379/)', async () => {
    // A stand-in for Redis on loopback: it counts every connection made to it.
    let connections = 0;
    const redisLike = createNetServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => redisLike.listen(0, '127.0.0.1', resolve));
    const redisPort = (redisLike.address() as AddressInfo).port;
    try {
      const report = await ingestSources({ ...deps, allowPrivateAddresses: false }, [
        `http://127.0.0.1:${redisPort}/`,
        `http://localhost:${redisPort}/`,
      ]);
      expect(report.rejected.map((r) => r.reason)).toEqual([
        expect.stringMatching(/^feed_rejected: refused 127\.0\.0\.1:\d+: 127\.0\.0\.1 is a loopback address/),
        expect.stringMatching(/^feed_rejected: refused localhost: it resolves to .* is a loopback address/),
      ]);
      expect(connections).toBe(0);
    } finally {
      await new Promise<void>((resolve) => redisLike.close(() => resolve()));
    }
  });

  it('refuses a feed that redirects to the cloud metadata address, and stores nothing', async () => {
    const report = await ingestSources({ ...deps, allowPrivateAddresses: ['127.0.0.1/32'] }, [
      `${baseUrl}/to-metadata`,
    ]);
    expect(report.rejected[0]?.reason).toMatch(
      /^feed_rejected: refused 169\.254\.169\.254: 169\.254\.169\.254 is a link-local address/,
    );
    expect(await storedCount()).toBe(0);
  });

  it('reads local files only when the command line asks, never for other callers', async () => {
    const report = await ingestSources({ ...deps, allowFilePaths: false }, [SAMPLE_FEED, `file://${SAMPLE_FEED}`]);
    expect(report.rejected.map((r) => r.reason)).toEqual([
      'feed_rejected: local files are read only from the command line',
      'feed_rejected: local files are read only from the command line',
    ]);
    expect(await storedCount()).toBe(0);
  });
});

describe('sources and versions', () => {
  it('a feed item with the guid and link of a CMS article cannot replace it; the ingest result says so', async () => {
    const store = new RedisArticleStore(redis, redisKeys(prefix));
    const cms = await ingestWebhookPayload(
      { store },
      JSON.stringify({
        articles: [
          {
            id: 'cms-1001',
            url: 'https://harbourgazette.example/news/ferry',
            title: 'Ferry timetable changes from Monday',
            publishedAt: '2026-11-26T11:00:00Z',
          },
        ],
      }),
    );
    const report = await ingestSources(deps, [`${baseUrl}/cms-lookalike.xml`]);
    expect(report).toMatchObject({ ingested: 0, updated: 0, collisions: 1, outdated: 0 });
    expect(report.refused).toEqual([
      {
        articleId: cms.articleIds[0],
        title: 'Ferry cancelled for good',
        url: 'https://harbourgazette.example/news/ferry',
        reason: 'owned-by-another-source',
        ownedBy: 'webhook',
        source: `${baseUrl}/cms-lookalike.xml`,
      },
    ]);
    expect((await store.get(cms.articleIds[0]!))?.title).toBe('Ferry timetable changes from Monday');
  });
});
