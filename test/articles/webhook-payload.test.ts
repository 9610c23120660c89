import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisArticleStore } from '../../src/articles/article-store.js';
import {
  ingestWebhookPayload,
  signWebhookBody,
  verifyWebhookSignature,
  type IngestWebhookDeps,
} from '../../src/articles/webhook-payload.js';
import { isAppError } from '../../src/errors.js';
import { redisKeys } from '../../src/redis.js';
import { openTestRedis } from '../helpers/redis.js';

const SECRET = 'webhook-secret-for-tests-0123456789abcdef';
const NOW = new Date('2026-11-27T12:00:00Z');
const nowSeconds = Math.floor(NOW.getTime() / 1000);

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

describe('webhook signatures', () => {
  const body = JSON.stringify({ articles: [article] });

  it('accepts a correct signature, with or without a fresh timestamp', () => {
    expect(verifyWebhookSignature(SECRET, body, signWebhookBody(SECRET, body))).toBe(true);
    expect(verifyWebhookSignature(SECRET, body, signWebhookBody(SECRET, body, nowSeconds - 60), { now: NOW })).toBe(
      true,
    );
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['a malformed header', 'sha256=nothex'],
    ['another secret', signWebhookBody('a-different-secret-of-enough-length!!', body)],
    ['a signature of another body', signWebhookBody(SECRET, `${body} `)],
    ['an expired timestamp', signWebhookBody(SECRET, body, nowSeconds - 301)],
    ['a timestamp from the future', signWebhookBody(SECRET, body, nowSeconds + 301)],
    [
      'a timestamp swapped after signing',
      signWebhookBody(SECRET, body, nowSeconds - 10).replace(/^t=\d+/, `t=${nowSeconds}`),
    ],
  ])('refuses %s', (_name, header) => {
    expect(verifyWebhookSignature(SECRET, body, header, { now: NOW })).toBe(false);
  });

  it('can require a timestamp', () => {
    expect(verifyWebhookSignature(SECRET, body, signWebhookBody(SECRET, body), { requireTimestamp: true })).toBe(false);
  });
});

describe('ingesting a CMS webhook', () => {
  let redis: Redis;
  let prefix: string;
  let cleanup: () => Promise<void>;
  let deps: IngestWebhookDeps;
  let store: RedisArticleStore;

  beforeEach(async () => {
    ({ redis, prefix, cleanup } = await openTestRedis('webhook'));
    store = new RedisArticleStore(redis, redisKeys(prefix));
    deps = { store, secret: SECRET, clock: () => NOW };
  });

  afterEach(async () => {
    await cleanup();
  });

  const send = (payload: unknown, header?: string) => {
    const raw = typeof payload === 'string' ? payload : JSON.stringify(payload);
    return ingestWebhookPayload(deps, Buffer.from(raw), header ?? signWebhookBody(SECRET, raw, nowSeconds));
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

  it('refuses an unsigned or wrongly signed push and stores nothing', async () => {
    const raw = JSON.stringify({ articles: [article] });
    expect(await failureOf(ingestWebhookPayload(deps, Buffer.from(raw), undefined))).toMatchObject({
      code: 'unauthorized',
    });
    expect(await failureOf(send(raw, signWebhookBody('wrong-secret-wrong-secret-wrong-secret', raw)))).toMatchObject({
      code: 'unauthorized',
    });
    expect(await store.list(10)).toEqual([]);
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
    const failure = await failureOf(
      ingestWebhookPayload({ ...deps, maxBytes: 100 }, Buffer.alloc(200, 0x20), undefined),
    );
    expect(failure).toMatchObject({
      code: 'input_invalid',
      message: 'webhook body: 200 bytes, over the 100-byte limit',
    });
  });
});
