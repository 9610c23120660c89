/**
 * A newsletter's schedule firing, on real Redis and queues: in `send` mode it creates, freezes and starts sending;
 * in `draft` mode it leaves a draft; a retried run carries on with its own digest; with nothing new, no digest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, useCaseDeps, type App } from '../../src/app.js';
import { loadConfig, NewsletterSchema } from '../../src/config.js';
import { runNewsletterSchedule, scheduledDigestId } from '../../src/delivery/run-newsletter-schedule.js';
import { silentLogger } from '../../src/logger.js';
import { ingestSampleFeed } from '../helpers/sample-feed.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';

describe('a newsletter schedule firing', () => {
  let app: App;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const redis = await openTestRedis('schedule-run');
    cleanup = redis.cleanup;
    app = await createApp(loadConfig({ REDIS_URL: TEST_REDIS_URL, LETTERPRESS_PREFIX: redis.prefix }), {
      logger: silentLogger,
    });
    await ingestSampleFeed(app);
  });
  afterAll(async () => {
    await app.close();
    await cleanup();
  });

  const run = (mode: 'send' | 'draft', id: string, runAt: Date) =>
    runNewsletterSchedule(
      { ...useCaseDeps(app), runs: app.scheduleRuns },
      {
        newsletter: NewsletterSchema.parse({ id, name: 'The Daily Digest', schedule: { cron: '0 6 * * *', mode } }),
        site: app.config.site,
        runAt,
      },
    );

  it('in send mode sends what is new once, a retried run finds its own digest, and nothing new means no digest', async () => {
    const at = new Date('2026-11-27T06:00:00Z');
    const first = await run('send', 'daily', at);
    expect(first).toMatchObject({ outcome: 'sent', digestId: scheduledDigestId('daily', at) });
    const digest = await app.digests.get(first.digestId!);
    expect(digest).toMatchObject({ status: 'sending', createdBy: 'schedule', articleIds: expect.any(Array) });
    expect(digest?.articleIds).toHaveLength(12);
    expect(await app.queues.queues.fanout.getJob(`fanout-${first.digestId}`)).toBeDefined();

    const retried = await run('send', 'daily', at);
    expect(retried.digestId).toBe(first.digestId);
    expect(await app.digests.listByNewsletter('daily', 10)).toHaveLength(1);

    const next = await run('send', 'daily', new Date('2026-11-28T06:00:00Z'));
    expect(next.outcome).toBe('nothing-new');
    expect(await app.digests.listByNewsletter('daily', 10)).toHaveLength(1);
    expect(await app.scheduleRuns.get('daily')).toMatchObject({ outcome: 'nothing-new' });
  });

  it('in draft mode leaves a draft for an editor to approve', async () => {
    const result = await run('draft', 'morning', new Date('2026-11-27T06:00:00Z'));
    expect(result.outcome).toBe('drafted');
    expect(await app.digests.get(result.digestId!)).toMatchObject({ status: 'draft', createdBy: 'schedule' });
    expect(await app.digests.getBody(result.digestId!)).toBeUndefined();
  });
});
