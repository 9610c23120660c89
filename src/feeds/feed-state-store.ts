/** Feed polling state in Redis: one hash per feed (`keys.feedState(feedId)`), one field per FeedState property. */
import { parseInput } from '../errors.js';
import type { RedisKeys, RedisClient } from '../redis.js';
import { FeedStateSchema, type FeedState } from './feed-state.js';

const NUMBER_FIELDS = new Set(['lastIngested', 'lastUpdated', 'consecutiveFailures']);

function fromHash(feedId: string, hash: Record<string, string>): FeedState {
  const candidate: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(hash))
    candidate[field] = NUMBER_FIELDS.has(field) ? Number(value) : value;
  return parseInput(FeedStateSchema, candidate, `feed ${feedId} in Redis`);
}

/** Reads and writes the polling state of feeds. */
export class RedisFeedStateStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Pick<RedisKeys, 'feedState'>,
  ) {}

  /** A feed's state, or undefined before its first poll. */
  async get(feedId: string): Promise<FeedState | undefined> {
    const hash = await this.redis.hgetall(this.keys.feedState(feedId));
    return Object.keys(hash).length === 0 ? undefined : fromHash(feedId, hash);
  }

  /** Several feeds' states by id (undefined for those never polled), in one round trip. */
  async getMany(feedIds: string[]): Promise<(FeedState | undefined)[]> {
    const pipeline = this.redis.pipeline();
    for (const feedId of feedIds) pipeline.hgetall(this.keys.feedState(feedId));
    const replies = (await pipeline.exec()) ?? [];
    return feedIds.map((feedId, i) => {
      const [error, hash] = replies[i] ?? [null, {}];
      if (error) throw error;
      const fields = hash as Record<string, string>;
      return Object.keys(fields).length === 0 ? undefined : fromHash(feedId, fields);
    });
  }

  /** Replaces a feed's state with this one (fields left undefined are removed). */
  async put(feedId: string, state: FeedState): Promise<void> {
    const valid = parseInput(FeedStateSchema, state, `feed ${feedId}`);
    const fields = Object.entries(valid).flatMap(([field, value]) =>
      value === undefined ? [] : [field, String(value)],
    );
    await this.redis
      .multi()
      .del(this.keys.feedState(feedId))
      .hset(this.keys.feedState(feedId), ...fields)
      .exec();
  }
}
