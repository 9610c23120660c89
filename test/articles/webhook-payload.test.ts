import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisArticleStore } from '../../src/articles/article-store.js';
import { ingestWebhookPayload, type IngestWebhookDeps } from '../../src/articles/webhook-payload.js';
import { isAppError } from '../../src/errors.js';
import { redisKeys } from '../../src/redis.js';
import { openTestRedis } from '../helpers/redis.js';

const NOW = new Date('2026-11-27T12:00:00Z');

const article = {
  id: 'cms-4711',
  url: 'https://paper.example/news/harbour-dredging?utm_source=cms',
  title: 'Harbour dredging starts &amp; lasts six weeks',
  standfirst: 'The channel will be closed at night.',
  authors: ['Maggie Trewin'],
  section: 'News',
  publishedAt: '2026-11-27T09:00:00+00:00',
  image: {
    url: 'https://paper.example/img/dredger.jpg',
    alt: 'A dredger at the harbour mouth',
    caption: 'The Ellery Belle',
  },
  contentHtml:
    '<p>Work starts <a href="/notices/42?fbclid=x">Monday</a>.</p><script>alert(1)</script><img src="https://pixel.wp.com/g.gif" width="1" height="1">',
};

describe('ingesting a CMS webhook', () => {
  let redis: Redis;
  let prefix: string;
  let cleanup: () => Promise<void>;
  let deps: IngestWebhookDeps;
  let store: RedisArticleStore;

  beforeEach(async () => {
    ({ redis, prefix, cleanup } = await openTestRedis('webhook'));
    store = new RedisArticleStore(redis, redisKeys(prefix));
    deps = { store, clock: () => NOW };
  });

  afterEach(async () => {
    await cleanup();
  });

  const send = (payload: unknown) => {
    const raw = typeof payload === 'string' ? payload : JSON.stringify(payload);
    return ingestWebhookPayload(deps, Buffer.from(raw));
  };

  async function failureOf(run: Promise<unknown>): Promise<{ code: string; message: string }> {
    try {
      await run;
    } catch (error) {
      expect(isAppError(error)).toBe(true);
      return { code: (error as { code: string }).code, message: (error as Error).message };
    }
    throw new Error('expected the webhook to be refused');
  }

  it('stores a signed article cleaned like any feed item', async () => {
    const report = await send({ articles: [article] });
    expect(report).toMatchObject({ ingested: 1, updated: 0, unchanged: 0 });
    const stored = await store.get(report.articleIds[0]!);
    expect(stored).toMatchObject({
      url: 'https://paper.example/news/harbour-dredging',
      title: 'Harbour dredging starts & lasts six weeks',
      standfirst: 'The channel will be closed at night.',
      authors: ['Maggie Trewin'],
      section: 'News',
      publishedAt: '2026-11-27T09:00:00.000Z',
      image: {
        url: 'https://paper.example/img/dredger.jpg',
        alt: 'A dredger at the harbour mouth',
        caption: 'The Ellery Belle',
      },
      contentHtml: '<p>Work starts <a href="https://paper.example/notices/42">Monday</a>.</p>',
      source: 'webhook',
    });
  });

  it('counts a repeated push as unchanged and an edit as an update of the same article', async () => {
    const first = await send({ articles: [article] });
    expect(await send({ articles: [article] })).toMatchObject({ ingested: 0, unchanged: 1 });
    const edited = await send({ articles: [{ ...article, title: 'Harbour dredging starts on Monday' }] });
    expect(edited).toMatchObject({ updated: 1, articleIds: first.articleIds });
    expect((await store.get(first.articleIds[0]!))?.title).toBe('Harbour dredging starts on Monday');
  });

  it('refuses a body that fails the schema, naming the field, and stores none of its articles', async () => {
    const good = { ...article, id: 'ok-1' };
    const bad = { ...article, id: 'bad-1', url: 'ftp://paper.example/x', publishedAt: 'yesterday' };
    const failure = await failureOf(send({ articles: [good, bad] }));
    expect(failure.code).toBe('input_invalid');
    expect(failure.message).toContain('articles.1.url: must be an http(s) URL');
    expect(failure.message).toContain('articles.1.publishedAt');
    expect(await store.list(10)).toEqual([]);
  });

  it('refuses a body that is not JSON', async () => {
    expect(await failureOf(send('{"articles": ['))).toMatchObject({
      code: 'input_invalid',
      message: expect.stringMatching(/not valid JSON/),
    });
  });

  it('refuses an oversized body before checking anything else', async () => {
    const failure = await failureOf(ingestWebhookPayload({ ...deps, maxBytes: 100 }, Buffer.alloc(200, 0x20)));
    expect(failure).toMatchObject({
      code: 'input_invalid',
      message: 'webhook body: 200 bytes, over the 100-byte limit',
    });
  });
});
