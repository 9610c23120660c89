/** The last run of each newsletter's schedule, kept for the editor page: when, what came of it, which digest. */
import { z } from 'zod';
import { parseInput } from '../errors.js';
import type { RedisKeys, RedisClient } from '../redis.js';

/** One run of a newsletter schedule. */
export const ScheduleRunSchema = z.object({
  at: z.string().datetime({ offset: true }),
  /** `drafted`, `sent`, `nothing-new` (no digest: nothing new), or `failed`. */
  outcome: z.enum(['drafted', 'sent', 'nothing-new', 'failed']),
  digestId: z.string().optional(),
  reason: z.string().optional(),
});
export type ScheduleRun = z.infer<typeof ScheduleRunSchema>;

/** Reads and writes the last run of each newsletter's schedule (one hash per newsletter). */
export class RedisScheduleRunStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Pick<RedisKeys, 'newsletterScheduleRun'>,
  ) {}

  /** The newsletter's last run, or undefined. */
  async get(newsletterId: string): Promise<ScheduleRun | undefined> {
    const hash = await this.redis.hgetall(this.keys.newsletterScheduleRun(newsletterId));
    return Object.keys(hash).length === 0
      ? undefined
      : parseInput(ScheduleRunSchema, hash, `schedule run ${newsletterId}`);
  }

  /** Records a run, replacing the one before. */
  async put(newsletterId: string, run: ScheduleRun): Promise<void> {
    const valid = parseInput(ScheduleRunSchema, run, 'schedule run');
    const key = this.keys.newsletterScheduleRun(newsletterId);
    const fields = Object.entries(valid).flatMap(([field, value]) => (value === undefined ? [] : [field, value]));
    await this.redis
      .multi()
      .del(key)
      .hset(key, ...fields)
      .exec();
  }
}
