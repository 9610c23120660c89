/** A configured feed and the state of its polling: what was fetched last, how it went, and when to try again. */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Newsletter } from '../config.js';

/** The outcome of one poll. */
export const FeedOutcome = {
  /** Fetched and parsed; new or changed articles were stored. */
  ok: 'ok',
  /** The server answered 304: nothing changed since the last poll. */
  notModified: 'not-modified',
  /** Could not be fetched or parsed (the reason is kept); the next tries back off. */
  failed: 'failed',
} as const;
export type FeedOutcome = (typeof FeedOutcome)[keyof typeof FeedOutcome];

/** A feed's polling state as stored. */
export const FeedStateSchema = z.object({
  url: z.string(),
  lastPolledAt: z.string().datetime({ offset: true }).optional(),
  lastOutcome: z.enum(['ok', 'not-modified', 'failed']).optional(),
  /** Why the last poll failed (no credentials or query string in it). */
  lastError: z.string().optional(),
  lastSuccessAt: z.string().datetime({ offset: true }).optional(),
  /** Articles stored new and changed by the last successful fetch. */
  lastIngested: z.number().int().min(0).default(0),
  lastUpdated: z.number().int().min(0).default(0),
  consecutiveFailures: z.number().int().min(0).default(0),
  /** While failing: no poll before this time. */
  retryAfter: z.string().datetime({ offset: true }).optional(),
  etag: z.string().optional(),
  lastModified: z.string().optional(),
});
export type FeedState = z.infer<typeof FeedStateSchema>;

/** A feed as configured: one per URL, however many newsletters list it. */
export interface ConfiguredFeed {
  feedId: string;
  url: string;
  /** The shortest interval any newsletter asks for. */
  intervalMs: number;
  newsletterIds: string[];
}

/** The id naming a feed's state and its scheduler: 16 hex characters of SHA-256 over the URL. */
export function feedIdFor(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

/** Every feed the newsletters list, once per URL. */
export function configuredFeeds(newsletters: readonly Pick<Newsletter, 'id' | 'feeds'>[]): ConfiguredFeed[] {
  const byUrl = new Map<string, ConfiguredFeed>();
  for (const newsletter of newsletters) {
    for (const feed of newsletter.feeds) {
      const known = byUrl.get(feed.url);
      if (known) {
        known.intervalMs = Math.min(known.intervalMs, feed.intervalMs);
        if (!known.newsletterIds.includes(newsletter.id)) known.newsletterIds.push(newsletter.id);
      } else {
        byUrl.set(feed.url, {
          feedId: feedIdFor(feed.url),
          url: feed.url,
          intervalMs: feed.intervalMs,
          newsletterIds: [newsletter.id],
        });
      }
    }
  }
  return [...byUrl.values()];
}

/** Longest wait between tries of a failing feed. */
export const MAX_FEED_BACKOFF_MS = 24 * 3600 * 1000;

/**
 * How long a feed that failed `failures` times in a row waits before its next try: the interval, doubled for each
 * failure after the first (1×, 2×, 4×, 8×, 16× ...), at most a day.
 */
export function feedBackoffMs(intervalMs: number, failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(MAX_FEED_BACKOFF_MS, intervalMs * 2 ** Math.min(failures - 1, 20));
}
