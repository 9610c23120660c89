/**
 * The subscriber store: one hash per subscriber, an email index, per-newsletter ACTIVE bitmaps (bit N = subscriber
 * N takes the newsletter) and the suppression list. Every change that touches more than one key runs as one Lua
 * script, so a reader is never half-subscribed and an unsubscribe takes effect in a single step.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { NewsletterSchema } from '../config.js';
import { AppError, parseInput } from '../errors.js';
import { readLuaScript, scriptCommand } from '../redis-scripts.js';
import type { RedisKeys } from '../redis.js';
import { EmailSchema, normaliseEmail, SubscriberSchema, type Subscriber } from './subscriber.js';

/** What `add` accepts: an address, the newsletters it takes, its starting status, and whether it is a resubscription. */
export const AddSubscriberInputSchema = z.object({
  email: EmailSchema,
  newsletterIds: z.array(NewsletterSchema.shape.id).min(1, 'must name at least one newsletter'),
  status: z.enum(['pending', 'active']),
  /**
   * A confirmed opt-in from an address that unsubscribed: only then does an `active` add take back a newsletter the
   * reader left. A suppressed address is never reactivated, with or without it. @defaultValue false
   */
  resubscribe: z.boolean().default(false),
});
export type AddSubscriberInput = z.input<typeof AddSubscriberInputSchema>;

/** Why an add left (some of) the record as it was. */
export type AddRefusal = 'unsubscribed' | 'suppressed';

/** What `add` did. */
export interface AddSubscriberResult {
  /** The record after the add (unchanged when refused). */
  subscriber: Subscriber;
  /** Whether the address was new. */
  created: boolean;
  /**
   * True when the request would have (re)activated an address that unsubscribed from some requested newsletter (pass
   * `resubscribe: true` for a confirmed opt-in) or that is suppressed (never reactivated): those newsletters were
   * left as they were.
   */
  isResubscribeRefused: boolean;
  /** Why, when `isResubscribeRefused`. */
  refusal?: AddRefusal;
}

/** Why an address is suppressed and since when. */
export const SuppressionSchema = z.object({ reason: z.string(), at: z.string() });
export type Suppression = z.infer<typeof SuppressionSchema>;

/*
 * Every key a script touches is passed in KEYS (the subscriber hash, each newsletter's active bitmap), all under the
 * `{prefix}` hash tag, so the scripts stay in one slot on Redis Cluster. The caller reads which newsletters a record
 * takes before the call; a script that finds the record changed since (a newsletter whose bitmap was not passed, an
 * address now indexed under another id) changes nothing and answers "retry", and the caller reads again.
 */

const ADD_SUBSCRIBER_LUA = readLuaScript(import.meta.url, 'lua/add-subscriber.lua');

const UNSUBSCRIBE_LUA = readLuaScript(import.meta.url, 'lua/unsubscribe.lua');

const SUPPRESS_LUA = readLuaScript(import.meta.url, 'lua/suppress.lua');

/** How often a script is called again after the record changed between the read and the script. */
const MAX_SCRIPT_RETRIES = 10;

/** What the caller read before an add: the id to use, whether it is fresh, and the record's newsletters. */
interface AddPlan {
  id: number;
  isFresh: boolean;
  newsletters: string[];
}

/** The subscriber store on Redis. Construct it once per connection; it registers its Lua scripts on that connection. */
export class RedisSubscriberStore {
  /** Registers the store's scripts on the connection. */
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly clock: () => Date = () => new Date(),
  ) {
    // No fixed key count: each call passes the bitmaps of the newsletters involved.
    redis.defineCommand('lpAddSubscriber', { lua: ADD_SUBSCRIBER_LUA });
    redis.defineCommand('lpUnsubscribe', { lua: UNSUBSCRIBE_LUA });
    redis.defineCommand('lpSuppress', { lua: SUPPRESS_LUA });
  }

  /**
   * Adds a subscriber or updates the one with the same (case-insensitive) address: idempotent. A pending add never
   * activates anything; an active add sets the newsletters' active bits at once. An address that unsubscribed is not
   * taken back without `resubscribe: true`, and a suppressed one never is (see `AddSubscriberResult`).
   */
  async add(input: AddSubscriberInput): Promise<AddSubscriberResult> {
    const parsed = parseInput(AddSubscriberInputSchema, input, 'subscriber');
    for (let attempt = 0; attempt < MAX_SCRIPT_RETRIES; attempt += 1) {
      const plan = await this.planAdd(parsed);
      const reply = await scriptCommand(this.redis, 'lpAddSubscriber')(...this.addArguments(parsed, plan));
      if (!isRetryReply(reply)) return parseAddReply(reply);
    }
    throw concurrentChange('adding a subscriber');
  }

  /**
   * Adds many subscribers in pipelined chunks (bulk import and benchmark seeding); same rules as `add`. New
   * addresses get ids in the order given. Invalid rows are refused before anything is written.
   */
  async addMany(
    inputs: AddSubscriberInput[],
    options: { chunkSize?: number } = {},
  ): Promise<{ created: number; existing: number; resubscribeRefused: number }> {
    const parsed = inputs.map((input, index) => parseInput(AddSubscriberInputSchema, input, `subscriber[${index}]`));
    const chunkSize = options.chunkSize ?? 1000;
    let created = 0;
    let resubscribeRefused = 0;
    const count = (result: AddSubscriberResult) => {
      if (result.created) created += 1;
      if (result.isResubscribeRefused) resubscribeRefused += 1;
    };
    for (let start = 0; start < parsed.length; start += chunkSize) {
      const chunk = parsed.slice(start, start + chunkSize);
      const plans = await this.planAddMany(chunk);
      const pipeline = this.redis.pipeline();
      chunk.forEach((input, index) => {
        const plan = plans[index] as AddPlan;
        void scriptCommand(pipeline, 'lpAddSubscriber')(...this.addArguments(input, plan));
      });
      const results = (await pipeline.exec()) ?? [];
      for (const [index, [error, reply]] of results.entries()) {
        if (error) throw error;
        // The record changed between the read and the script (another writer): add that one on its own.
        count(isRetryReply(reply) ? await this.add(chunk[index] as AddSubscriberInput) : parseAddReply(reply));
      }
    }
    return { created, existing: parsed.length - created, resubscribeRefused };
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
   * cleared in the same step, and delivery checks that bit right before each send. The reader is taken back only by
   * a resubscription. Returns the updated record, or undefined when no such subscriber exists.
   */
  async unsubscribe(id: number, newsletterId?: string): Promise<Subscriber | undefined> {
    if (newsletterId !== undefined) parseInput(NewsletterSchema.shape.id, newsletterId, 'newsletter id');
    for (let attempt = 0; attempt < MAX_SCRIPT_RETRIES; attempt += 1) {
      const taken = await this.readNewsletters(id);
      const newsletters = unique([...taken, ...(newsletterId === undefined ? [] : [newsletterId])]);
      const found = await scriptCommand(this.redis, 'lpUnsubscribe')(
        1 + newsletters.length,
        this.keys.subscriber(id),
        ...newsletters.map((nl) => this.keys.newsletterActive(nl)),
        id,
        newsletterId ?? '',
        this.clock().toISOString(),
        newsletters.join(','),
      );
      if (found === -1) continue;
      return found === 1 ? this.get(id) : undefined;
    }
    throw concurrentChange('unsubscribing');
  }

  /**
   * Suppresses an address (permanent bounce, complaint): recorded even when no subscriber has it, and a subscriber
   * who has it loses every active bit and becomes `suppressed`. Returns the subscriber, if there is one.
   */
  async suppress(email: string, reason: string): Promise<Subscriber | undefined> {
    const now = this.clock().toISOString();
    const record: Suppression = { reason: reason.slice(0, 500), at: now };
    const address = normaliseEmail(email);
    for (let attempt = 0; attempt < MAX_SCRIPT_RETRIES; attempt += 1) {
      const found = await this.redis.hget(this.keys.subscriberByEmail, address);
      const subscriberId = found === null ? undefined : Number(found);
      const newsletters = subscriberId === undefined ? [] : await this.readNewsletters(subscriberId);
      const keys = [
        this.keys.subscriberByEmail,
        this.keys.suppressed,
        ...(subscriberId === undefined ? [] : [this.keys.subscriber(subscriberId)]),
        ...newsletters.map((nl) => this.keys.newsletterActive(nl)),
      ];
      const id = await scriptCommand(this.redis, 'lpSuppress')(
        keys.length,
        ...keys,
        address,
        JSON.stringify(record),
        now,
        found ?? '',
        newsletters.join(','),
      );
      if (id === -1) continue;
      return typeof id === 'number' && id > 0 ? this.get(id) : undefined;
    }
    throw concurrentChange('suppressing an address');
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

  private async readNewsletters(id: number): Promise<string[]> {
    return splitList(await this.redis.hget(this.keys.subscriber(id), 'newsletters'));
  }

  /** Reads the address's id (or takes a fresh one) and the newsletters its record takes. */
  private async planAdd(input: ParsedAddInput): Promise<AddPlan> {
    const found = await this.redis.hget(this.keys.subscriberByEmail, normaliseEmail(input.email));
    if (found === null)
      return { id: await this.redis.incr(this.keys.subscriberNextId), isFresh: true, newsletters: [] };
    const id = Number(found);
    return { id, isFresh: false, newsletters: await this.readNewsletters(id) };
  }

  /** `planAdd` for a chunk in two round trips; repeated new addresses in the chunk share one fresh id. */
  private async planAddMany(chunk: ParsedAddInput[]): Promise<AddPlan[]> {
    const addresses = chunk.map((input) => normaliseEmail(input.email));
    const found = await this.redis.hmget(this.keys.subscriberByEmail, ...addresses);
    const newAddresses = unique(addresses.filter((_, index) => found[index] === null));
    const pipeline = this.redis.pipeline();
    const existingIds = unique(found.filter((id): id is string => id !== null)).map(Number);
    for (const id of existingIds) pipeline.hget(this.keys.subscriber(id), 'newsletters');
    if (newAddresses.length > 0) pipeline.incrby(this.keys.subscriberNextId, newAddresses.length);
    const results = (await pipeline.exec()) ?? [];
    const values = results.map(([error, value]) => {
      if (error) throw error;
      return value;
    });
    const newslettersById = new Map(existingIds.map((id, index) => [id, splitList(values[index] as string | null)]));
    const freshIds = new Map<string, number>();
    if (newAddresses.length > 0) {
      const last = Number(values[existingIds.length]);
      newAddresses.forEach((address, index) => freshIds.set(address, last - newAddresses.length + 1 + index));
    }
    return addresses.map((address, index) => {
      const id = found[index];
      if (id === null || id === undefined) {
        return { id: freshIds.get(address) ?? 0, isFresh: true, newsletters: [] };
      }
      return { id: Number(id), isFresh: false, newsletters: newslettersById.get(Number(id)) ?? [] };
    });
  }

  private addArguments(input: ParsedAddInput, plan: AddPlan): (string | number)[] {
    const newsletters = unique([...input.newsletterIds, ...plan.newsletters]);
    return [
      3 + newsletters.length,
      this.keys.subscriberByEmail,
      this.keys.suppressed,
      this.keys.subscriber(plan.id),
      ...newsletters.map((nl) => this.keys.newsletterActive(nl)),
      normaliseEmail(input.email),
      input.email,
      input.status,
      input.newsletterIds.join(','),
      this.clock().toISOString(),
      input.resubscribe ? '1' : '',
      plan.id,
      plan.isFresh ? '1' : '',
      newsletters.join(','),
    ];
  }
}

type ParsedAddInput = z.infer<typeof AddSubscriberInputSchema>;

function splitList(value: string | null | undefined): string[] {
  return value ? value.split(',').filter((item) => item !== '') : [];
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

function isRetryReply(reply: unknown): boolean {
  return Array.isArray(reply) && reply.length === 1 && reply[0] === 'retry';
}

function concurrentChange(action: string): AppError {
  return new AppError('redis_unavailable', `${action} gave up: the record kept changing under concurrent writers`);
}

function parseAddReply(reply: unknown): AddSubscriberResult {
  if (!Array.isArray(reply) || reply.length !== 8) {
    throw new AppError('redis_unavailable', 'unexpected reply from the add-subscriber script');
  }
  const [id, created, email, status, newsletters, createdAt, updatedAt, refusal] = reply.map(String);
  const subscriber = parseRecord(Number(id), { email, status, newsletters, createdAt, updatedAt });
  if (!subscriber) throw new AppError('redis_unavailable', 'the add-subscriber script returned an incomplete record');
  const result: AddSubscriberResult = { subscriber, created: created === '1', isResubscribeRefused: false };
  if (refusal === 'unsubscribed' || refusal === 'suppressed') {
    result.isResubscribeRefused = true;
    result.refusal = refusal;
  }
  return result;
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
