/**
 * The send-rate limit in Redis, shared by every worker on every host: messages per second for the installation and,
 * optionally, per recipient domain. SEND_RATE_PER_SECOND is the default; `letterpress rate set` stores a value that
 * overrides it while running (the next permit asked for reads it). Permits come from one Lua script
 * (lua/reserve-send-permit.lua) on Redis's own clock.
 */
import { randomBytes } from 'node:crypto';
import type { RedisClient, RedisKeys } from '../redis.js';
import { readLuaScript, scriptCommand } from '../redis-scripts.js';
import type { SendPermit, SendRateLimiter } from './wait-for-send-permit.js';

const RESERVE_SEND_PERMIT_LUA = readLuaScript(import.meta.url, 'lua/reserve-send-permit.lua');
const SETTLE_SEND_PERMIT_LUA = readLuaScript(import.meta.url, 'lua/settle-send-permit.lua');

/** The field of the limits hash that holds the installation's rate. */
const OVERALL_FIELD = '*';
const DOMAIN_FIELD_PREFIX = 'domain:';

/** Options of the store. */
export interface SendRateStoreOptions {
  /** Messages per second while no rate is set in Redis (SEND_RATE_PER_SECOND). @defaultValue undefined (unlimited) */
  defaultPerSecond?: number;
  /**
   * How far ahead a permit may be reserved, in ms. Longer lets more messages wait for their instant at once; a new
   * rate applies to permits reserved after it is set, so this is also the longest a change takes. @defaultValue 250
   */
  horizonMs?: number;
  /**
   * How far above the rate a 1-second window may go when late messages bunch up, as a fraction: the spacing of the
   * permits sets the pace, and this ceiling holds whatever the delays. @defaultValue 0.04
   */
  ceilingMargin?: number;
}

/** The limits in force, as `letterpress rate show` reports them. */
export interface SendRateSettings {
  /** SEND_RATE_PER_SECOND; undefined when unset. */
  configuredPerSecond: number | undefined;
  /** The value `rate set` stored; undefined when none. */
  overridePerSecond: number | undefined;
  /** What workers apply: the override, else the configured value; undefined = unlimited. */
  effectivePerSecond: number | undefined;
  /** Recipient domain → messages per second. */
  domains: Record<string, number>;
}

/** Reads, changes and hands out the send-rate limit of one installation. */
export class RedisSendRateStore implements SendRateLimiter {
  private readonly horizonMs: number;
  /** Permit ids: this store's random part and a counter. */
  private readonly idPrefix = randomBytes(6).toString('hex');
  private issued = 0;
  /** Until when (performance.now()) no limit applies at all, as Redis last said: no round trip per message then. */
  private unlimitedUntil = 0;

  /** Registers the permit script on the connection. */
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Pick<
      RedisKeys,
      'sendRateLimits' | 'sendRateNext' | 'sendRateNextForDomain' | 'sendRatePermits'
    >,
    private readonly options: SendRateStoreOptions = {},
  ) {
    this.horizonMs = options.horizonMs ?? 250;
    redis.defineCommand('lpReserveSendPermit', { numberOfKeys: 4, lua: RESERVE_SEND_PERMIT_LUA });
    redis.defineCommand('lpSettleSendPermit', { numberOfKeys: 1, lua: SETTLE_SEND_PERMIT_LUA });
  }

  /** Reserves the next permit for one message to `domain` (see the script's header). */
  async reserve(domain: string): Promise<SendPermit> {
    // With no rate anywhere, Redis is asked again only once per horizon: a `rate set` still applies within it.
    if (performance.now() < this.unlimitedUntil) return { isGranted: true, waitMs: 0, id: '' };
    this.issued += 1;
    const id = `${this.idPrefix}:${this.issued}`;
    const reply = (await scriptCommand(this.redis, 'lpReserveSendPermit')(
      this.keys.sendRateLimits,
      this.keys.sendRateNext,
      this.keys.sendRateNextForDomain(domain),
      this.keys.sendRatePermits,
      this.options.defaultPerSecond ?? 0,
      domain,
      this.horizonMs,
      id,
      this.options.ceilingMargin ?? 0.04,
    )) as [number, string, number, number];
    const [granted, wait, logged, storedLimits] = reply;
    if (logged === 0 && storedLimits === 0 && !this.options.defaultPerSecond) {
      this.unlimitedUntil = performance.now() + this.horizonMs;
    }
    return { isGranted: granted === 1, waitMs: Math.max(0, Number(wait) || 0), id: logged === 1 ? id : '' };
  }

  /** Counts the permit's message from now on (see settle-send-permit.lua); a permit outside the log needs nothing. */
  async settle(permitId: string): Promise<void> {
    if (permitId === '') return;
    await scriptCommand(this.redis, 'lpSettleSendPermit')(this.keys.sendRatePermits, permitId);
  }

  /** The limits in force. */
  async read(): Promise<SendRateSettings> {
    const hash = await this.redis.hgetall(this.keys.sendRateLimits);
    const domains: Record<string, number> = {};
    for (const [field, value] of Object.entries(hash)) {
      const rate = Number(value);
      if (field.startsWith(DOMAIN_FIELD_PREFIX) && rate > 0) domains[field.slice(DOMAIN_FIELD_PREFIX.length)] = rate;
    }
    const override = Number(hash[OVERALL_FIELD]);
    const overridePerSecond = override > 0 ? override : undefined;
    const configuredPerSecond = this.options.defaultPerSecond;
    return {
      configuredPerSecond,
      overridePerSecond,
      effectivePerSecond: overridePerSecond ?? configuredPerSecond,
      domains,
    };
  }

  /** Sets the installation's rate, or one recipient domain's, for every worker from their next message. */
  async set(perSecond: number, domain?: string): Promise<void> {
    await this.redis.hset(this.keys.sendRateLimits, fieldFor(domain), String(perSecond));
  }

  /**
   * Removes a stored rate: the installation's (SEND_RATE_PER_SECOND applies again) or one domain's (unlimited again).
   * Returns whether there was one.
   */
  async clear(domain?: string): Promise<boolean> {
    return (await this.redis.hdel(this.keys.sendRateLimits, fieldFor(domain))) > 0;
  }

  /** Removes every stored rate, the installation's and every domain's. */
  async clearAll(): Promise<void> {
    await this.redis.del(this.keys.sendRateLimits);
  }
}

function fieldFor(domain: string | undefined): string {
  return domain === undefined ? OVERALL_FIELD : `${DOMAIN_FIELD_PREFIX}${domain}`;
}
