/**
 * One poll of a configured feed, as its job scheduler runs it every interval: a conditional GET through the same
 * ingest code as `letterpress ingest` (its size and time limits, its parsing and storage), the outcome kept in the
 * feed's state for editors and `letterpress feeds status`. A failing feed backs off: after N failures in a row the
 * next try waits the interval times 2^(N-1) (at most a day), and polls before then return without a request.
 */
import type { FeedValidators, IngestReport, IngestSourcesOptions } from '../articles/ingest-sources.js';
import type { Logger } from '../logger.js';
import { feedBackoffMs, type FeedOutcome, type FeedState } from './feed-state.js';

/** What a poll needs. */
export interface PollFeedDeps {
  feeds: { get(feedId: string): Promise<FeedState | undefined>; put(feedId: string, state: FeedState): Promise<void> };
  /** The ingest of `letterpress ingest` for these sources, with these options. */
  ingest: (sources: string[], options: IngestSourcesOptions) => Promise<IngestReport>;
  clock: () => Date;
  logger: Logger;
}

/** Input of `pollFeed`. */
export interface PollFeedInput {
  feedId: string;
  url: string;
  intervalMs: number;
}

/** How a poll went: what the feed's state now says, or that it was skipped while backing off. */
export type PollFeedResult =
  { outcome: FeedOutcome; state: FeedState } | { outcome: 'backing-off'; retryAfter: string };

/**
 * A scheduler's tick may come a little before a retry time set one interval earlier; this share of the interval
 * (at most a minute) still counts as due.
 */
const EARLY_TOLERANCE = 0.1;

/** Polls a feed once (see the module comment). Storage failures propagate; feed failures are recorded. */
export async function pollFeed(deps: PollFeedDeps, input: PollFeedInput): Promise<PollFeedResult> {
  const now = deps.clock();
  const previous = (await deps.feeds.get(input.feedId)) ?? {
    url: input.url,
    lastIngested: 0,
    lastUpdated: 0,
    consecutiveFailures: 0,
  };
  const tolerance = Math.min(60_000, input.intervalMs * EARLY_TOLERANCE);
  if (previous.retryAfter && Date.parse(previous.retryAfter) - tolerance > now.getTime()) {
    return { outcome: 'backing-off', retryAfter: previous.retryAfter };
  }
  // A changed URL (same id is a hash of it, so only by a collision) or a first poll starts from nothing.
  const validators: FeedValidators | undefined =
    previous.url === input.url && (previous.etag || previous.lastModified)
      ? {
          ...(previous.etag ? { etag: previous.etag } : {}),
          ...(previous.lastModified ? { lastModified: previous.lastModified } : {}),
        }
      : undefined;
  const report = await deps.ingest([input.url], validators ? { validators: { [input.url]: validators } } : {});
  const source = report.sources[0];
  const polledAt = now.toISOString();
  let state: FeedState;
  if (!source || source.status === 'rejected') {
    const failures = previous.consecutiveFailures + 1;
    state = {
      ...previous,
      url: input.url,
      lastPolledAt: polledAt,
      lastOutcome: 'failed',
      lastError: (source?.reason ?? 'no result').replace(/^feed_rejected: /, ''),
      consecutiveFailures: failures,
      retryAfter: new Date(now.getTime() + feedBackoffMs(input.intervalMs, failures)).toISOString(),
    };
    deps.logger.warn({ feedId: input.feedId, failures, reason: state.lastError }, 'feed poll failed');
  } else {
    const fresh = source.validators ?? validators;
    state = {
      url: input.url,
      lastPolledAt: polledAt,
      lastOutcome: source.status === 'not-modified' ? 'not-modified' : 'ok',
      lastSuccessAt: polledAt,
      lastIngested: source.status === 'ok' ? report.ingested : 0,
      lastUpdated: source.status === 'ok' ? report.updated : 0,
      consecutiveFailures: 0,
      ...(fresh?.etag ? { etag: fresh.etag } : {}),
      ...(fresh?.lastModified ? { lastModified: fresh.lastModified } : {}),
    };
  }
  await deps.feeds.put(input.feedId, state);
  return { outcome: state.lastOutcome ?? 'failed', state };
}
