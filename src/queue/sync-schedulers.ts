/**
 * The job schedulers the configuration asks for, kept in BullMQ by the workers at start: one per configured feed
 * (`feed-<feedId>`, every interval) and one per newsletter schedule (`newsletter-<id>`, its cron line in its zone).
 * Schedulers of feeds or schedules no longer configured are removed. Upserting is idempotent, so every worker
 * process may do it.
 */
import type { Config } from '../config.js';
import { configuredFeeds } from '../feeds/feed-state.js';
import type { DeliveryQueues } from './queues.js';

/** What syncing did. */
export interface SyncSchedulersResult {
  feeds: number;
  schedules: number;
  removed: string[];
}

/** Makes BullMQ's job schedulers match the configuration (see the module comment). */
export async function syncSchedulers(
  queues: Pick<DeliveryQueues, 'upsertScheduler' | 'listSchedulers' | 'removeScheduler'>,
  config: Pick<Config, 'newsletters' | 'site'>,
): Promise<SyncSchedulersResult> {
  const wanted = new Set<string>();
  const feeds = configuredFeeds(config.newsletters);
  for (const feed of feeds) {
    const id = `feed-${feed.feedId}`;
    wanted.add(id);
    await queues.upsertScheduler(id, { everyMs: feed.intervalMs }, 'feed-poll', {
      feedId: feed.feedId,
      url: feed.url,
      intervalMs: feed.intervalMs,
    });
  }
  const scheduled = config.newsletters.filter((newsletter) => newsletter.schedule);
  for (const newsletter of scheduled) {
    const id = `newsletter-${newsletter.id}`;
    wanted.add(id);
    const schedule = newsletter.schedule as NonNullable<typeof newsletter.schedule>;
    await queues.upsertScheduler(
      id,
      { cron: schedule.cron, timeZone: schedule.timeZone ?? config.site.timeZone },
      'newsletter-run',
      { newsletterId: newsletter.id },
    );
  }
  const removed: string[] = [];
  for (const scheduler of await queues.listSchedulers('feed-poll')) {
    if (/^(feed|newsletter)-/.test(scheduler.id) && !wanted.has(scheduler.id)) {
      await queues.removeScheduler('feed-poll', scheduler.id);
      removed.push(scheduler.id);
    }
  }
  return { feeds: feeds.length, schedules: scheduled.length, removed };
}
