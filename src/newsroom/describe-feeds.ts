/** The configured feeds as editors and operators see them: URLs without secrets, intervals, newsletters, last poll. */
import { describeSource } from '../articles/describe-source.js';
import type { Newsletter } from '../config.js';
import { configuredFeeds, type FeedState } from '../feeds/feed-state.js';

/** One feed in a report. */
export interface FeedReport {
  /** The URL without credentials or query string (private feed URLs carry keys there). */
  url: string;
  intervalMinutes: number;
  newsletterIds: string[];
  state: FeedState | null;
}

/** Describes the feeds these newsletters poll, once per URL. */
export async function describeFeeds(
  deps: { feeds: { getMany(feedIds: string[]): Promise<(FeedState | undefined)[]> } },
  newsletters: readonly Pick<Newsletter, 'id' | 'feeds'>[],
): Promise<FeedReport[]> {
  const found = configuredFeeds(newsletters);
  const states = await deps.feeds.getMany(found.map((feed) => feed.feedId));
  return found.map((feed, i) => {
    const state = states[i];
    return {
      url: describeSource(feed.url),
      intervalMinutes: Math.round(feed.intervalMs / 60_000),
      newsletterIds: feed.newsletterIds,
      state: state ? { ...state, url: describeSource(state.url) } : null,
    };
  });
}
