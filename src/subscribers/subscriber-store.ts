/**
 * The subscriber store: one hash per subscriber, an email index, per-newsletter ACTIVE bitmaps (bit N = subscriber
 * N takes the newsletter) and the suppression list. Every change that touches more than one key runs as one Lua
 * script, so a reader is never half-subscribed and an unsubscribe takes effect in a single step.
 */
import { z } from 'zod';
import { NewsletterSchema } from '../config.js';
import { AppError, parseInput } from '../errors.js';
import { readLuaScript, scriptCommand } from '../redis-scripts.js';
import type { RedisKeys, RedisClient } from '../redis.js';
import { EmailSchema, normaliseEmail, SubscriberNameSchema, SubscriberSchema, type Subscriber } from './subscriber.js';
import { suppressionField } from './suppression-field.js';

/** What `add` accepts: an address, the newsletters it takes, its starting status, and whether it is a resubscription. */
export const AddSubscriberInputSchema = z.object({
  email: EmailSchema,
  /** The reader's name; empty or absent keeps the stored one. */
  name: SubscriberNameSchema.optional(),
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

const REQUEST_SUBSCRIPTION_LUA = readLuaScript(import.meta.url, 'lua/request-subscription.lua');
const CLEAR_REQUEST_LUA = readLuaScript(import.meta.url, 'lua/clear-request.lua');
const EXPIRE_REQUEST_LUA = readLuaScript(import.meta.url, 'lua/expire-request.lua');
const ERASE_SUBSCRIBER_LUA = readLuaScript(import.meta.url, 'lua/erase-subscriber.lua');
const UNSUPPRESS_LUA = readLuaScript(import.meta.url, 'lua/unsuppress.lua');
const RECORD_SOFT_BOUNCE_LUA = readLuaScript(import.meta.url, 'lua/record-soft-bounce.lua');
const IMPORT_NEW_LUA = readLuaScript(import.meta.url, 'lua/import-new.lua');
const READ_RECORDS_LUA = readLuaScript(import.meta.url, 'lua/read-records.lua');

/** A new reader for `addNewMany`. */
export interface NewReader {
  email: string;
  name?: string;
  newsletterIds: string[];
  /** The address's suppression field when the caller has it already (see `readStates`). */
  suppressionField?: string;
}

/** What `addNewMany` did with one reader. */
export type NewReaderOutcome =
  /** Stored, with this id. */
  | { kind: 'added'; id: number }
  /** The address was stored meanwhile: add it with `add` instead. */
  | { kind: 'exists' }
  /** The address is suppressed: nothing was stored. */
  | { kind: 'suppressed' };

/** What a sign-up request did. */
export interface SubscriptionRequest {
  /**
   * `requested`: a confirmation is due (a new pending reader, or newsletters an existing reader does not take yet);
   * `subscribed`: the reader already takes every newsletter asked for; `suppressed`: the address is suppressed and
   * nothing was written.
   */
  outcome: 'requested' | 'subscribed' | 'suppressed';
  subscriberId: number;
  /** The time of the request awaiting confirmation (its link expires from then), when there is one. */
  requestedAt?: string;
}

/** What confirming a reader's open request did. */
export interface ConfirmationResult {
  /** `confirmed`; `nothing-pending` (confirmed before, or never asked); `suppressed`; `gone` (no such reader). */
  outcome: 'confirmed' | 'nothing-pending' | 'suppressed' | 'gone';
  /** Newsletters that became active by this confirmation. */
  activated: string[];
  subscriber?: Subscriber;
}

/** What `erase` removed. */
export interface EraseRecordResult {
  /** The id the address had, if it had a record. */
  subscriberId?: number;
  /** Keys or fields deleted. */
  removed: number;
}

/** Options of the store. */
export interface SubscriberStoreOptions {
  /** Key of the suppression list's keyed hashes (LETTERPRESS_SUPPRESSION_KEY); never rotates. */
  suppressionKey: string;
  /** @defaultValue () => new Date() */
  clock?: () => Date;
}

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
  private readonly clock: () => Date;
  private readonly suppressionKey: string;

  /** Registers the store's scripts on the connection. */
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    options: SubscriberStoreOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
    if (!options.suppressionKey) throw new AppError('config_invalid', 'the suppression key is empty');
    this.suppressionKey = options.suppressionKey;
    // No fixed key count: each call passes the bitmaps of the newsletters involved.
    redis.defineCommand('lpAddSubscriber', { lua: ADD_SUBSCRIBER_LUA });
    redis.defineCommand('lpUnsubscribe', { lua: UNSUBSCRIBE_LUA });
    redis.defineCommand('lpSuppress', { lua: SUPPRESS_LUA });
    redis.defineCommand('lpRequestSubscription', { numberOfKeys: 4, lua: REQUEST_SUBSCRIPTION_LUA });
    redis.defineCommand('lpClearRequest', { numberOfKeys: 2, lua: CLEAR_REQUEST_LUA });
    redis.defineCommand('lpExpireRequest', { numberOfKeys: 3, lua: EXPIRE_REQUEST_LUA });
    redis.defineCommand('lpEraseSubscriber', { lua: ERASE_SUBSCRIBER_LUA });
    redis.defineCommand('lpUnsuppress', { lua: UNSUPPRESS_LUA });
    redis.defineCommand('lpRecordSoftBounce', { numberOfKeys: 1, lua: RECORD_SOFT_BOUNCE_LUA });
    redis.defineCommand('lpImportNew', { lua: IMPORT_NEW_LUA });
    redis.defineCommand('lpReadRecords', { lua: READ_RECORDS_LUA });
  }

  /** The address's field in the suppression hash: its keyed hash, never the address. */
  suppressionFieldOf(email: string): string {
    return suppressionField(this.suppressionKey, normaliseEmail(email));
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
   * addresses get ids in the order given. Invalid rows are refused before anything is written. `results` holds each
   * input's outcome, in order.
   */
  async addMany(
    inputs: AddSubscriberInput[],
    options: { chunkSize?: number } = {},
  ): Promise<{ created: number; existing: number; resubscribeRefused: number; results: AddSubscriberResult[] }> {
    const parsed = inputs.map((input, index) => parseInput(AddSubscriberInputSchema, input, `subscriber[${index}]`));
    const chunkSize = options.chunkSize ?? 1000;
    let created = 0;
    let resubscribeRefused = 0;
    const results: AddSubscriberResult[] = [];
    const count = (result: AddSubscriberResult) => {
      results.push(result);
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
    return { created, existing: parsed.length - created, resubscribeRefused, results };
  }

  /**
   * Stores readers believed new in one script call per `chunkSize` (the bulk path of an import): each gets a fresh id
   * and, `active`, its newsletters' active bits, or, `pending`, a sign-up awaiting confirmation. An address stored
   * meanwhile, or suppressed, is left alone and reported so. Rows must be valid and distinct (the caller checked).
   */
  async addNewMany(
    readers: NewReader[],
    status: 'active' | 'pending',
    options: { chunkSize?: number } = {},
  ): Promise<{ outcomes: NewReaderOutcome[]; requestedAt: string }> {
    const now = this.clock();
    const outcomes: NewReaderOutcome[] = [];
    const chunkSize = options.chunkSize ?? 500;
    for (let start = 0; start < readers.length; start += chunkSize) {
      const chunk = readers.slice(start, start + chunkSize);
      const last = await this.redis.incrby(this.keys.subscriberNextId, chunk.length);
      const ids = chunk.map((_, index) => last - chunk.length + 1 + index);
      const newsletters = unique(chunk.flatMap((reader) => reader.newsletterIds));
      const keys = [
        this.keys.subscriberByEmail,
        this.keys.suppressions,
        this.keys.pendingRequests,
        ...newsletters.map((nl) => this.keys.newsletterActive(nl)),
        ...ids.map((id) => this.keys.subscriber(id)),
      ];
      const args: (string | number)[] = [status, now.toISOString(), now.getTime(), newsletters.join(',')];
      chunk.forEach((reader, index) => {
        const address = normaliseEmail(reader.email);
        args.push(address, reader.email, reader.name ?? '', reader.newsletterIds.join(','), ids[index] as number);
        args.push(reader.suppressionField ?? this.suppressionFieldOf(address));
      });
      const results = (await scriptCommand(this.redis, 'lpImportNew')(keys.length, ...keys, ...args)) as number[];
      results.forEach((result, index) => {
        outcomes.push(
          result === 1
            ? { kind: 'added', id: ids[index] as number }
            : result === 2
              ? { kind: 'suppressed' }
              : { kind: 'exists' },
        );
      });
    }
    return { outcomes, requestedAt: now.toISOString() };
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
    const field = this.suppressionFieldOf(address);
    for (let attempt = 0; attempt < MAX_SCRIPT_RETRIES; attempt += 1) {
      const found = await this.redis.hget(this.keys.subscriberByEmail, address);
      const subscriberId = found === null ? undefined : Number(found);
      const newsletters = subscriberId === undefined ? [] : await this.readNewsletters(subscriberId);
      const keys = [
        this.keys.subscriberByEmail,
        this.keys.suppressions,
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
        field,
      );
      if (id === -1) continue;
      return typeof id === 'number' && id > 0 ? this.get(id) : undefined;
    }
    throw concurrentChange('suppressing an address');
  }

  /** Why an address is suppressed, or undefined when it is not. */
  async getSuppression(email: string): Promise<Suppression | undefined> {
    const value = await this.redis.hget(this.keys.suppressions, this.suppressionFieldOf(email));
    return value === null ? undefined : SuppressionSchema.parse(JSON.parse(value));
  }

  /** Which of these addresses are suppressed (lower-cased), in one round trip per thousand. */
  async suppressedAmong(emails: string[], fields?: Map<string, string>): Promise<Set<string>> {
    const addresses = emails.map(normaliseEmail);
    const found = new Set<string>();
    for (let start = 0; start < addresses.length; start += 1000) {
      const chunk = addresses.slice(start, start + 1000);
      const values = await this.redis.hmget(
        this.keys.suppressions,
        ...chunk.map((address) => fields?.get(address) ?? this.suppressionFieldOf(address)),
      );
      chunk.forEach((address, index) => {
        if (values[index] !== null) found.add(address);
      });
    }
    return found;
  }

  /** How many addresses the suppression list holds (including addresses without a record). */
  async countSuppressions(): Promise<number> {
    return this.redis.hlen(this.keys.suppressions);
  }

  /**
   * Lifts a suppression (a mistake: a bounce that was not one). A suppressed record becomes `unsubscribed`, so nothing
   * is sent until the reader opts in again. Returns the suppression that was lifted (undefined when there was none)
   * and the record's status after.
   */
  async unsuppress(email: string): Promise<{ lifted?: Suppression; status?: Subscriber['status'] }> {
    const address = normaliseEmail(email);
    const field = this.suppressionFieldOf(address);
    const found = await this.redis.hget(this.keys.subscriberByEmail, address);
    const keys = [
      this.keys.suppressions,
      this.keys.softBounces(field),
      ...(found === null ? [] : [this.keys.subscriber(Number(found))]),
    ];
    const [removed, record, status] = (await scriptCommand(this.redis, 'lpUnsuppress')(
      keys.length,
      ...keys,
      field,
      this.clock().toISOString(),
    )) as [number, string, string];
    const result: { lifted?: Suppression; status?: Subscriber['status'] } = {};
    if (removed === 1 && record) result.lifted = SuppressionSchema.parse(JSON.parse(record));
    if (status) result.status = SubscriberSchema.shape.status.parse(status);
    return result;
  }

  /**
   * Counts a soft bounce of the address within the window and returns how many it had there, this one included. The
   * event id (a provider's own) makes a retried report count once.
   */
  async recordSoftBounce(email: string, eventId: string, windowMs: number): Promise<number> {
    const key = this.keys.softBounces(this.suppressionFieldOf(email));
    const count = await scriptCommand(this.redis, 'lpRecordSoftBounce')(
      key,
      eventId.slice(0, 200),
      this.clock().getTime(),
      windowMs,
    );
    return Number(count);
  }

  /**
   * Moves entries of the suppression list from before it was keyed (addresses in clear) to keyed hashes, then deletes
   * the old list. Runs at start; a no-op once done. Returns how many entries moved.
   */
  async migrateLegacySuppressions(): Promise<number> {
    let moved = 0;
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.keys.legacySuppressed, cursor, 'COUNT', 500);
      cursor = next;
      const pipeline = this.redis.pipeline();
      for (let i = 0; i + 1 < flat.length; i += 2) {
        pipeline.hsetnx(this.keys.suppressions, this.suppressionFieldOf(flat[i] ?? ''), flat[i + 1] ?? '');
        moved += 1;
      }
      if (flat.length > 0) await pipeline.exec();
    } while (cursor !== '0');
    if (moved > 0) await this.redis.del(this.keys.legacySuppressed);
    return moved;
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

  /**
   * Records a sign-up asking for these newsletters (see request-subscription.lua): a new address becomes `pending`;
   * a reader who already takes some newsletters keeps them and remembers the others until confirmed. Nothing becomes
   * active here. `isConfirmationSent`: a confirmation goes out for this request, so its link lives from now on;
   * otherwise the open request keeps its time (and its link).
   */
  async requestSubscription(input: {
    email: string;
    newsletterIds: string[];
    isConfirmationSent: boolean;
    /** The reader's name, when known (an import). */
    name?: string;
  }): Promise<SubscriptionRequest> {
    const email = parseInput(EmailSchema, input.email, 'email');
    const name = input.name === undefined ? '' : parseInput(SubscriberNameSchema, input.name, 'name');
    const newsletterIds = parseInput(
      z.array(NewsletterSchema.shape.id).min(1, 'must name at least one newsletter'),
      input.newsletterIds,
      'newsletters',
    );
    const address = normaliseEmail(email);
    const now = this.clock();
    for (let attempt = 0; attempt < MAX_SCRIPT_RETRIES; attempt += 1) {
      const found = await this.redis.hget(this.keys.subscriberByEmail, address);
      const id = found === null ? await this.redis.incr(this.keys.subscriberNextId) : Number(found);
      const reply = (await scriptCommand(this.redis, 'lpRequestSubscription')(
        this.keys.subscriberByEmail,
        this.keys.suppressions,
        this.keys.subscriber(id),
        this.keys.pendingRequests,
        address,
        email,
        this.suppressionFieldOf(address),
        unique(newsletterIds).join(','),
        now.toISOString(),
        now.getTime(),
        id,
        found === null ? '1' : '',
        input.isConfirmationSent ? '1' : '',
        name,
      )) as string[];
      if (isRetryReply(reply)) continue;
      const [outcome, replyId, requestedAt] = reply;
      const result: SubscriptionRequest = {
        outcome: outcome as SubscriptionRequest['outcome'],
        subscriberId: Number(replyId),
      };
      if (requestedAt) result.requestedAt = requestedAt;
      return result;
    }
    throw concurrentChange('recording a sign-up');
  }

  /**
   * Confirms the reader's open request: a pending reader becomes active in the newsletters they asked for; an
   * existing reader gains the ones they asked for since. Confirming is an opt-in, so newsletters the reader left
   * earlier are taken back; a suppressed address never is.
   */
  async confirmRequest(id: number): Promise<ConfirmationResult> {
    const subscriber = await this.get(id);
    if (!subscriber) return { outcome: 'gone', activated: [] };
    if (subscriber.status === 'suppressed') return { outcome: 'suppressed', activated: [], subscriber };
    const asked = subscriber.status === 'pending' ? subscriber.newsletters : subscriber.requested;
    if (asked.length === 0 || subscriber.requestedAt === undefined) {
      return { outcome: 'nothing-pending', activated: [], subscriber };
    }
    const added = await this.add({
      email: subscriber.email,
      newsletterIds: asked,
      status: 'active',
      resubscribe: true,
    });
    if (added.refusal === 'suppressed') return { outcome: 'suppressed', activated: [], subscriber: added.subscriber };
    await scriptCommand(this.redis, 'lpClearRequest')(
      this.keys.subscriber(id),
      this.keys.pendingRequests,
      id,
      subscriber.requestedAt,
      subscriber.requested.join(','),
    );
    const before = new Set(subscriber.status === 'active' ? subscriber.newsletters : []);
    return {
      outcome: 'confirmed',
      activated: added.subscriber.newsletters.filter((nl) => !before.has(nl)),
      subscriber: (await this.get(id)) ?? added.subscriber,
    };
  }

  /**
   * Forgets sign-ups nobody confirmed in time: requests made at or before `cutoff` end; a reader still `pending` is
   * deleted with their address, an existing reader only loses the unconfirmed newsletters. Returns the counts.
   */
  async purgeExpiredRequests(cutoff: Date, batch = 500): Promise<{ purged: number; expired: number }> {
    const counts = { purged: 0, expired: 0 };
    for (;;) {
      const ids = await this.redis.zrangebyscore(
        this.keys.pendingRequests,
        '-inf',
        cutoff.getTime(),
        'LIMIT',
        0,
        batch,
      );
      if (ids.length === 0) return counts;
      const emails = await this.getEmails(ids.map(Number));
      for (const idText of ids) {
        const id = Number(idText);
        const outcome = await scriptCommand(this.redis, 'lpExpireRequest')(
          this.keys.subscriberByEmail,
          this.keys.subscriber(id),
          this.keys.pendingRequests,
          id,
          normaliseEmail(emails.get(id) ?? ''),
          cutoff.getTime(),
        );
        if (outcome === 'purged') counts.purged += 1;
        else if (outcome === 'expired') counts.expired += 1;
        else await this.redis.zrem(this.keys.pendingRequests, idText);
      }
    }
  }

  /**
   * Deletes everything the store holds about an address except its suppression (a keyed hash, kept so a suppressed
   * address stays suppressed): the record, the address index entry, active bits, an open request, soft-bounce counts.
   * `newsletterIds`: every configured newsletter, whose active bits are cleared too.
   */
  async eraseRecord(email: string, newsletterIds: readonly string[]): Promise<EraseRecordResult> {
    const address = normaliseEmail(email);
    const softBounces = this.keys.softBounces(this.suppressionFieldOf(address));
    for (let attempt = 0; attempt < MAX_SCRIPT_RETRIES; attempt += 1) {
      const found = await this.redis.hget(this.keys.subscriberByEmail, address);
      const id = found === null ? undefined : Number(found);
      const newsletters = unique([...newsletterIds, ...(id === undefined ? [] : await this.readNewsletters(id))]);
      const keys = [
        this.keys.subscriberByEmail,
        id === undefined ? this.keys.subscriber(0) : this.keys.subscriber(id),
        this.keys.pendingRequests,
        softBounces,
        ...(id === undefined ? [] : newsletters.map((nl) => this.keys.newsletterActive(nl))),
      ];
      const removed = await scriptCommand(this.redis, 'lpEraseSubscriber')(keys.length, ...keys, address, found ?? '');
      if (removed === -1) continue;
      return { ...(id === undefined ? {} : { subscriberId: id }), removed: Number(removed) };
    }
    throw concurrentChange('erasing a subscriber');
  }

  /**
   * What the store holds for these addresses, in three round trips: each known address (lower-cased) mapped to its
   * id, status and the newsletters it takes and left; suppressed addresses in `suppressed`, with or without a record;
   * and each address's suppression field.
   */
  async readStates(emails: string[]): Promise<{
    records: Map<string, Pick<Subscriber, 'id' | 'status' | 'newsletters' | 'left'>>;
    suppressed: Set<string>;
    /** Each address's suppression field, for `addNewMany`. */
    suppressionFields: Map<string, string>;
  }> {
    const addresses = emails.map(normaliseEmail);
    const records = new Map<string, Pick<Subscriber, 'id' | 'status' | 'newsletters' | 'left'>>();
    const suppressionFields = new Map(addresses.map((address) => [address, this.suppressionFieldOf(address)]));
    if (addresses.length === 0) return { records, suppressed: new Set(), suppressionFields };
    const [ids, suppressed] = await Promise.all([
      this.redis.hmget(this.keys.subscriberByEmail, ...addresses),
      this.suppressedAmong(addresses, suppressionFields),
    ]);
    const pipeline = this.redis.pipeline();
    const known: { address: string; id: number }[] = [];
    ids.forEach((id, index) => {
      if (id === null) return;
      known.push({ address: addresses[index] as string, id: Number(id) });
      pipeline.hmget(this.keys.subscriber(Number(id)), 'status', 'newsletters', 'left');
    });
    const results = known.length > 0 ? ((await pipeline.exec()) ?? []) : [];
    results.forEach(([error, values], index) => {
      if (error) throw error;
      const [status, newsletters, left] = values as (string | null)[];
      const entry = known[index];
      if (!entry || !status) return;
      records.set(entry.address, {
        id: entry.id,
        status: SubscriberSchema.shape.status.parse(status),
        newsletters: splitList(newsletters),
        left: splitList(left),
      });
    });
    return { records, suppressed, suppressionFields };
  }

  /** The highest subscriber id handed out so far (ids run from 1 to it, with gaps where records were erased). */
  async highestId(): Promise<number> {
    return Number((await this.redis.get(this.keys.subscriberNextId)) ?? 0);
  }

  /**
   * Every record in id order, read in pipelined pages of `pageSize` ids: the basis of export, list and count. Records
   * added while it runs are included when their id is not yet passed.
   */
  async *scan(options: { pageSize?: number } = {}): AsyncGenerator<Subscriber[]> {
    const pageSize = options.pageSize ?? 1000;
    const readPage = (from: number) => {
      const keys = Array.from({ length: pageSize }, (_, index) => this.keys.subscriber(from + index));
      return scriptCommand(this.redis, 'lpReadRecords')(keys.length, ...keys, ...RECORD_FIELDS) as Promise<string>;
    };
    const highest = await this.highestId();
    // The next page is asked for before this one is handed out, so Redis reads while the caller works.
    let next = highest >= 1 ? readPage(1) : undefined;
    for (let from = 1; next; from += pageSize) {
      const text = await next;
      next = from + pageSize <= Math.max(highest, await this.highestId()) ? readPage(from + pageSize) : undefined;
      const page: Subscriber[] = [];
      text.split('\x1e').forEach((record, index) => {
        const found = recordFromFields(from + index, record.split('\x1f'));
        if (found) page.push(found);
      });
      yield page;
    }
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
      this.keys.suppressions,
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
      input.name ?? '',
      this.suppressionFieldOf(input.email),
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

/** The hash fields a record is read from, in the order `parseRecord` and the scanners expect them. */
export const RECORD_FIELDS = [
  'email',
  'name',
  'status',
  'newsletters',
  'left',
  'leftAt',
  'requested',
  'requestedAt',
  'createdAt',
  'updatedAt',
] as const;

/**
 * A record from the values of `RECORD_FIELDS`, without re-validating what the store's own scripts wrote: the fast
 * path of scans over millions of records (export, list, count).
 */
function recordFromFields(id: number, values: (string | null | undefined)[]): Subscriber | undefined {
  const [email, name, status, newsletters, left, leftAt, requested, requestedAt, createdAt, updatedAt] = values;
  if (!email || !status || !createdAt) return undefined;
  const record: Subscriber = {
    id,
    email,
    status: status as Subscriber['status'],
    newsletters: splitList(newsletters),
    left: splitList(left),
    requested: splitList(requested),
    createdAt,
    updatedAt: updatedAt ?? createdAt,
  };
  if (name) record.name = name;
  if (leftAt) record.leftAt = leftAt;
  if (requestedAt) record.requestedAt = requestedAt;
  return record;
}

/** A record from its hash fields (undefined when it has no address, i.e. does not exist). */
export function parseRecord(id: number, fields: Record<string, string | null | undefined>): Subscriber | undefined {
  if (fields.email === undefined || fields.email === null) return undefined;
  return SubscriberSchema.parse({
    id,
    email: fields.email,
    name: fields.name || undefined,
    status: fields.status,
    newsletters: splitList(fields.newsletters),
    left: splitList(fields.left),
    leftAt: fields.leftAt || undefined,
    requested: splitList(fields.requested),
    requestedAt: fields.requestedAt || undefined,
    createdAt: fields.createdAt,
    updatedAt: fields.updatedAt ?? fields.createdAt,
  });
}
