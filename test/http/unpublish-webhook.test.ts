/** The CMS takes articles down through the signed webhook: they leave the store and every issue not yet sent. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDraft } from '../../src/digests/create-draft.js';
import { signWebhookBody } from '../../src/http/webhooks/signed-request.js';
import { createHttpApp } from '../../src/http/server.js';
import { silentLogger } from '../../src/logger.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';

const SECRET = 'a-webhook-secret-of-at-least-32-chars';

describe('unpublishing through the CMS webhook', () => {
  let app: App;
  let cleanup: () => Promise<void>;
  let clock = Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    const redis = await openTestRedis('unpublish');
    cleanup = redis.cleanup;
    app = await createApp(
      loadConfig({ REDIS_URL: TEST_REDIS_URL, LETTERPRESS_PREFIX: redis.prefix, WEBHOOK_SECRET: SECRET }),
      { logger: silentLogger },
    );
  });
  afterAll(async () => {
    await app.close();
    await cleanup();
  });

  const post = (payload: unknown) => {
    const body = JSON.stringify(payload);
    clock += 1;
    return createHttpApp(app).request('/webhooks/articles', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-letterpress-signature': signWebhookBody(SECRET, body, clock) },
      body,
    });
  };
  const story = (id: string, title: string) => ({
    id,
    url: `https://harbourgazette.example/news/${id}`,
    title,
    publishedAt: new Date().toISOString(),
  });

  it('takes the named articles out of the store and out of a draft, and reports ids it does not know', async () => {
    const pushed = await post({
      articles: [story('cms-1', 'A story that stays'), story('cms-2', 'A story withdrawn')],
    });
    expect(pushed.status).toBe(200);
    const { articleIds } = (await pushed.json()) as { articleIds: string[] };
    const newsletter = app.config.newsletters[0]!;
    const { digest } = await createDraft(app, { newsletter, createdBy: 'maggie' });
    expect([...digest.articleIds].sort()).toEqual([...articleIds].sort());

    const refused = await post({ unpublished: [] });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/unpublished: must name/);

    const taken = await post({ unpublished: ['cms-2', 'cms-404'] });
    expect(taken.status).toBe(200);
    expect(await taken.json()).toMatchObject({
      unpublished: { removed: 1, unknown: ['cms-404'], digests: [{ digestId: digest.id, status: 'draft' }] },
    });
    expect((await app.articles.list(10)).map((article) => article.title)).toEqual(['A story that stays']);
    expect((await app.digests.get(digest.id))?.articleIds).toEqual([articleIds[0]]);
  });
});
