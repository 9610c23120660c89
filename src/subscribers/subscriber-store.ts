/**
 * The subscriber store: one hash per subscriber, an email index, per-newsletter ACTIVE bitmaps (bit N = subscriber
 * N takes the newsletter) and the suppression list. Every change that touches more than one key runs as one Lua
 * script, so a reader is never half-subscribed and an unsubscribe takes effect in a single step.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import { z } from 'zod';
import { NewsletterSchema } from '../config.js';
import { AppError, parseInput } from '../errors.js';
import type { RedisKeys } from '../redis.js';
import { EmailSchema, SubscriberSchema, type Subscriber } from './subscriber.js';

/** What `add` accepts: an address, the newsletters it takes and its starting status. */
export const AddSubscriberInputSchema = z.object({
  email: EmailSchema,
  newsletterIds: z.array(NewsletterSchema.shape.id).min(1, 'must name at least one newsletter'),
  status: z.enum(['pending', 'active']),
});
export type AddSubscriberInput = z.input<typeof AddSubscriberInputSchema>;

/** Why an address is suppressed and since when. */
export const SuppressionSchema = z.object({ reason: z.string(), at: z.string() });
export type Suppression = z.infer<typeof SuppressionSchema>;

/*
 * Keys that depend on a value only known inside a script (a subscriber id handed out by INCR, the newsletters of a
 * record) are built from templates taken from `redisKeys()`, so the key names still live in one place. All of them
 * share the `{prefix}` hash tag, so the scripts stay in one slot on Redis Cluster.
 */
const TEMPLATE_MARK = '\u0000';

function splitTemplate(key: string): [string, string] {
  const at = key.indexOf(TEMPLATE_MARK);
  if (at < 0) throw new Error('key template without mark');
  return [key.slice(0, at), key.slice(at + TEMPLATE_MARK.length)];
}

/** Shared Lua helpers: read a subscriber hash into a table, return it as a flat reply. */
const LUA_PRELUDE = `
local function splitList(value)
  local list = {}
  if value and value ~= '' then
    for item in string.gmatch(value, '[^,]+') do list[#list + 1] = item end
  end
  return list
end
`;

/*
 * addSubscriber
 * KEYS[1] subscriberByEmail hash, KEYS[2] subscriberNextId counter, KEYS[3] suppressed hash
 * ARGV[1] lower-cased email, ARGV[2] email as given, ARGV[3] requested status (pending|active),
 * ARGV[4] newsletter ids comma-joined, ARGV[5] now (ISO), ARGV[6..7] subscriber key template (before, after id),
 * ARGV[8..9] newsletter active bitmap key template (before, after newsletter id)
 * Returns {id, created (0|1), email, status, newsletters, createdAt, updatedAt}.
 * Rules: an existing active reader is never downgraded to pending; newsletters are the union of old and new; a
 * suppressed address stays suppressed (its record is returned unchanged); an active record has its bits set.
 */
const ADD_SUBSCRIBER_LUA = `${LUA_PRELUDE}
local id = redis.call('HGET', KEYS[1], ARGV[1])
local created = 0
if not id then
  id = tostring(redis.call('INCR', KEYS[2]))
  redis.call('HSET', KEYS[1], ARGV[1], id)
  created = 1
end
local key = ARGV[6] .. id .. ARGV[7]
local current = redis.call('HMGET', key, 'email', 'status', 'newsletters', 'createdAt')
local isSuppressed = redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1
local email = current[1] or ARGV[2]
local createdAt = current[4] or ARGV[5]
local oldStatus = current[2]
if oldStatus == 'suppressed' or (isSuppressed and oldStatus) then
  return {id, created, email, oldStatus, current[3] or '', createdAt, redis.call('HGET', key, 'updatedAt') or createdAt}
end
local status = ARGV[3]
if isSuppressed then status = 'suppressed' end
if oldStatus == 'active' then status = 'active' end
local seen = {}
local merged = {}
for _, nl in ipairs(splitList(current[3])) do
  if not seen[nl] then seen[nl] = true; merged[#merged + 1] = nl end
end
for _, nl in ipairs(splitList(ARGV[4])) do
  if not seen[nl] then seen[nl] = true; merged[#merged + 1] = nl end
end
local newsletters = table.concat(merged, ',')
local changed = created == 1 or status ~= oldStatus or newsletters ~= (current[3] or '')
local updatedAt = redis.call('HGET', key, 'updatedAt') or ARGV[5]
if changed then
  updatedAt = ARGV[5]
  redis.call('HSET', key, 'email', email, 'status', status, 'newsletters', newsletters,
    'createdAt', createdAt, 'updatedAt', updatedAt)
end
if status == 'active' then
  for _, nl in ipairs(merged) do redis.call('SETBIT', ARGV[8] .. nl .. ARGV[9], tonumber(id), 1) end
end
return {id, created, email, status, newsletters, createdAt, updatedAt}
`;

/*
 * unsubscribeSubscriber
 * KEYS[1] the subscriber hash
 * ARGV[1] newsletter id, or '' for every newsletter; ARGV[2] now (ISO); ARGV[3..4] active bitmap key template
 * Returns 0 when the subscriber does not exist, else 1. Clears the active bit(s) first: from this instant no
 * delivery sends to them. Removing the last newsletter makes the status `unsubscribed`; a suppressed record keeps
 * its status.
 */
const UNSUBSCRIBE_LUA = `${LUA_PRELUDE}
local id = string.match(KEYS[1], '(%d+)$')
local current = redis.call('HMGET', KEYS[1], 'status', 'newsletters')
if not current[1] then return 0 end
local remaining = {}
for _, nl in ipairs(splitList(current[2])) do
  if ARGV[1] == '' or ARGV[1] == nl then
    redis.call('SETBIT', ARGV[3] .. nl .. ARGV[4], tonumber(id), 0)
  else
    remaining[#remaining + 1] = nl
  end
end
if ARGV[1] ~= '' then redis.call('SETBIT', ARGV[3] .. ARGV[1] .. ARGV[4], tonumber(id), 0) end
local status = current[1]
if #remaining == 0 and status ~= 'suppressed' then status = 'unsubscribed' end
redis.call('HSET', KEYS[1], 'status', status, 'newsletters', table.concat(remaining, ','), 'updatedAt', ARGV[2])
return 1
`;

/*
 * suppressAddress
 * KEYS[1] subscriberByEmail hash, KEYS[2] suppressed hash
 * ARGV[1] lower-cased email, ARGV[2] suppression JSON, ARGV[3] now (ISO), ARGV[4..5] subscriber key template,
 * ARGV[6..7] active bitmap key template
 * Returns the subscriber id, or 0 when no subscriber has the address (the suppression is recorded anyway).
 * The first suppression's reason is kept; later ones do not overwrite it.
 */
const SUPPRESS_LUA = `${LUA_PRELUDE}
redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return 0 end
local key = ARGV[4] .. id .. ARGV[5]
local newsletters = redis.call('HGET', key, 'newsletters')
if not newsletters then return 0 end
for _, nl in ipairs(splitList(newsletters)) do
  redis.call('SETBIT', ARGV[6] .. nl .. ARGV[7], tonumber(id), 0)
end
redis.call('HSET', key, 'status', 'suppressed', 'updatedAt', ARGV[3])
return tonumber(id)
`;

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/** The subscriber store on Redis. Construct it once per connection; it registers its Lua scripts on that connection. */
export class RedisSubscriberStore {
  private readonly subscriberTemplate: [string, string];
  private readonly activeTemplate: [string, string];

  /** Registers the store's scripts on the connection. */
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly clock: () => Date = () => new Date(),
  ) {
    // The key builders take a number or a newsletter id; the mark only makes their shape visible to the scripts.
    this.subscriberTemplate = splitTemplate((keys.subscriber as unknown as (id: string) => string)(TEMPLATE_MARK));
    this.activeTemplate = splitTemplate(keys.newsletterActive(TEMPLATE_MARK));
    redis.defineCommand('lpAddSubscriber', { numberOfKeys: 3, lua: ADD_SUBSCRIBER_LUA });
    redis.defineCommand('lpUnsubscribe', { numberOfKeys: 1, lua: UNSUBSCRIBE_LUA });
    redis.defineCommand('lpSuppress', { numberOfKeys: 2, lua: SUPPRESS_LUA });
  }

  /**
   * Adds a subscriber or updates the one with the same (case-insensitive) address: idempotent. An active record
   * gets its newsletters' active bits set at once; a suppressed address is returned unchanged and never reactivated.
   */
  async add(input: AddSubscriberInput): Promise<{ subscriber: Subscriber; created: boolean }> {
    const parsed = parseInput(AddSubscriberInputSchema, input, 'subscriber');
    const reply = await this.script(this.redis, 'lpAddSubscriber')(...this.addArguments(parsed));
    return parseAddReply(reply);
  }

  /**
   * Adds many subscribers in pipelined chunks (bulk import and benchmark seeding); same rules as `add`.
   * Invalid rows are refused before anything is written.
   */
  async addMany(
    inputs: AddSubscriberInput[],
    options: { chunkSize?: number } = {},
  ): Promise<{ created: number; existing: number }> {
    const parsed = inputs.map((input, index) => parseInput(AddSubscriberInputSchema, input, `subscriber[${index}]`));
    const chunkSize = options.chunkSize ?? 1000;
    let created = 0;
    for (let start = 0; start < parsed.length; start += chunkSize) {
      const pipeline = this.redis.pipeline();
      for (const input of parsed.slice(start, start + chunkSize)) {
        this.script(pipeline, 'lpAddSubscriber')(...this.addArguments(input));
      }
      const results = (await pipeline.exec()) ?? [];
      for (const [error, reply] of results) {
        if (error) throw error;
        if (parseAddReply(reply).created) created += 1;
      }
    }
    return { created, existing: parsed.length - created };
  }

  /** The subscriber with this id, or undefined. */
  async get(id: number): Promise<Subscriber | undefined> {
    const fields = await this.redis.hgetall(this.keys.subscriber(id));
    return parseRecord(id, fields);
  }

  /** The subscriber with this address (case-insensitive), or undefined. */
  async getByEmail(email: string): Promise<Subscriber | undefined> {
    const id = await this.redis.hget(this.keys.subscriberByEmail, normaliseEmail(email));
    return id === null ? undefined : this.get(Number(id));
  }

  /**
   * Unsubscribes from one newsletter, or from all when none is named. Effective immediately: the active bit is
   * cleared in the same step, and delivery checks that bit right before each send. Returns the updated record, or
   * undefined when no such subscriber exists.
   */
  async unsubscribe(id: number, newsletterId?: string): Promise<Subscriber | undefined> {
    if (newsletterId !== undefined) parseInput(NewsletterSchema.shape.id, newsletterId, 'newsletter id');
    const found = await this.script(this.redis, 'lpUnsubscribe')(
      this.keys.subscriber(id),
      newsletterId ?? '',
      this.clock().toISOString(),
      ...this.activeTemplate,
    );
    return found === 1 ? this.get(id) : undefined;
  }

  /**
   * Suppresses an address (permanent bounce, complaint): recorded even when no subscriber has it, and a subscriber
   * who has it loses every active bit and becomes `suppressed`. Returns the subscriber, if there is one.
   */
  async suppress(email: string, reason: string): Promise<Subscriber | undefined> {
    const now = this.clock().toISOString();
    const record: Suppression = { reason: reason.slice(0, 500), at: now };
    const id = await this.script(this.redis, 'lpSuppress')(
      this.keys.subscriberByEmail,
      this.keys.suppressed,
      normaliseEmail(email),
      JSON.stringify(record),
      now,
      ...this.subscriberTemplate,
      ...this.activeTemplate,
    );
    return typeof id === 'number' && id > 0 ? this.get(id) : undefined;
  }

  /** Why an address is suppressed, or undefined when it is not. */
  async getSuppression(email: string): Promise<Suppression | undefined> {
    const value = await this.redis.hget(this.keys.suppressed, normaliseEmail(email));
    return value === null ? undefined : SuppressionSchema.parse(JSON.parse(value));
  }

  /** The addresses of these subscribers in one pipelined round trip; ids without a record are left out. */
  async getEmails(ids: number[]): Promise<Map<number, string>> {
    const emails = new Map<number, string>();
    if (ids.length === 0) return emails;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(this.keys.subscriber(id), 'email');
    const results = (await pipeline.exec()) ?? [];
    results.forEach(([error, value], index) => {
      if (error) throw error;
      const id = ids[index];
      if (id !== undefined && typeof value === 'string') emails.set(id, value);
    });
    return emails;
  }

  /** Whether the subscriber's active bit for the newsletter is set: the one test that decides "still subscribed". */
  async isActive(id: number, newsletterId: string): Promise<boolean> {
    return (await this.redis.getbit(this.keys.newsletterActive(newsletterId), id)) === 1;
  }

  /** How many subscribers actively take the newsletter (BITCOUNT of its active bitmap). */
  async countActive(newsletterId: string): Promise<number> {
    return this.redis.bitcount(this.keys.newsletterActive(newsletterId));
  }

  private addArguments(input: z.infer<typeof AddSubscriberInputSchema>): (string | number)[] {
    return [
      this.keys.subscriberByEmail,
      this.keys.subscriberNextId,
      this.keys.suppressed,
      normaliseEmail(input.email),
      input.email,
      input.status,
      input.newsletterIds.join(','),
      this.clock().toISOString(),
      ...this.subscriberTemplate,
      ...this.activeTemplate,
    ];
  }

  private script(target: Redis | ChainableCommander, name: string): ScriptCall {
    const command = (target as unknown as Record<string, ScriptCall>)[name];
    if (typeof command !== 'function') throw new Error(`Lua command ${name} is not defined`);
    return command.bind(target);
  }
}

/** The form in which addresses are indexed and suppressed: trimmed and lower-cased. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

function parseAddReply(reply: unknown): { subscriber: Subscriber; created: boolean } {
  if (!Array.isArray(reply) || reply.length !== 7) {
    throw new AppError('redis_unavailable', 'unexpected reply from the add-subscriber script');
  }
  const [id, created, email, status, newsletters, createdAt, updatedAt] = reply.map(String);
  const subscriber = parseRecord(Number(id), { email, status, newsletters, createdAt, updatedAt });
  if (!subscriber) throw new AppError('redis_unavailable', 'the add-subscriber script returned an incomplete record');
  return { subscriber, created: created === '1' };
}

function parseRecord(id: number, fields: Record<string, string | undefined>): Subscriber | undefined {
  if (fields.email === undefined) return undefined;
  return SubscriberSchema.parse({
    id,
    email: fields.email,
    status: fields.status,
    newsletters: fields.newsletters ? fields.newsletters.split(',') : [],
    createdAt: fields.createdAt,
    updatedAt: fields.updatedAt,
  });
}
