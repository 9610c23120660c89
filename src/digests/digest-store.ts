/**
 * Digests in Redis. One hash per digest (`keys.digest(id)`) with one field per Digest property (`articleIds` as
 * JSON, counters `recipients delivered failed skipped` as integers that the delivery ledger increments in Lua), the
 * frozen body as JSON (`keys.digestBody(id)`), and two indexes scored by creation time: all digests
 * (`keys.digestsByCreated`) and each newsletter's (`keys.newsletterDigests(newsletterId)`).
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { AppError, parseInput } from '../errors.js';
import { readLuaScript, scriptCommand } from '../redis-scripts.js';
import type { RedisKeys } from '../redis.js';
import { DigestBodySchema, DigestSchema, type Digest, type DigestBody } from './digest.js';

/** The keys the store uses. */
export type DigestStoreKeys = Pick<RedisKeys, 'digest' | 'digestBody' | 'digestsByCreated' | 'newsletterDigests'>;

const COUNTER_FIELDS = ['recipients', 'delivered', 'failed', 'skipped'] as const;
const OPTIONAL_FIELDS = ['since', 'sendRequestedAt', 'fannedOutAt', 'sentAt', 'pausedReason'] as const;

const CREATE_DIGEST_LUA = readLuaScript(import.meta.url, 'lua/create-digest.lua');

/** Converts a digest to hash fields (optional fields that are absent are not written). */
function toHash(digest: Digest): Record<string, string> {
  const hash: Record<string, string> = {
    id: digest.id,
    newsletterId: digest.newsletterId,
    status: digest.status,
    subject: digest.subject,
    articleIds: JSON.stringify(digest.articleIds),
    createdAt: digest.createdAt,
  };
  for (const field of OPTIONAL_FIELDS) {
    const value = digest[field];
    if (value !== undefined) hash[field] = value;
  }
  for (const counter of COUNTER_FIELDS) hash[counter] = String(digest.counts[counter]);
  return hash;
}

const StoredArticleIds = z.array(z.string());

/** Reads a digest hash back; missing counters are 0. Throws `input_invalid` naming the field for a corrupt record. */
function fromHash(id: string, hash: Record<string, string>): Digest {
  let articleIds: unknown;
  try {
    articleIds = StoredArticleIds.parse(JSON.parse(hash.articleIds ?? '[]'));
  } catch {
    throw new AppError('input_invalid', `digest ${id} in Redis: articleIds is not a JSON list of ids`);
  }
  const candidate: Record<string, unknown> = {
    id: hash.id ?? id,
    newsletterId: hash.newsletterId,
    status: hash.status,
    subject: hash.subject,
    articleIds,
    createdAt: hash.createdAt,
    counts: Object.fromEntries(COUNTER_FIELDS.map((c) => [c, Number.parseInt(hash[c] ?? '0', 10) || 0])),
  };
  for (const field of OPTIONAL_FIELDS) {
    if (hash[field] !== undefined && hash[field] !== '') candidate[field] = hash[field];
  }
  return parseInput(DigestSchema, candidate, `digest ${id} in Redis`);
}

/** Reads and writes digests and their frozen bodies. */
export class RedisDigestStore {
  /** Registers the store's script on the connection. */
  constructor(
    private readonly redis: Redis,
    private readonly keys: DigestStoreKeys,
  ) {
    redis.defineCommand('lpCreateDigest', { numberOfKeys: 4, lua: CREATE_DIGEST_LUA });
  }

  /**
   * Stores a new digest with its body and indexes it, in one script (all or nothing). Refuses with `digest_state`
   * when a digest with that id already exists, leaving the existing one untouched.
   */
  async create(digest: Digest, body: DigestBody): Promise<void> {
    const valid = parseInput(DigestSchema, digest, 'digest');
    const validBody = parseInput(DigestBodySchema, body, 'digest body');
    const score = Date.parse(valid.createdAt);
    let created: unknown;
    try {
      created = await scriptCommand(this.redis, 'lpCreateDigest')(
        this.keys.digest(valid.id),
        this.keys.digestBody(valid.id),
        this.keys.digestsByCreated,
        this.keys.newsletterDigests(valid.newsletterId),
        valid.id,
        score,
        JSON.stringify(validBody),
        ...Object.entries(toHash(valid)).flat(),
      );
    } catch (error) {
      throw new AppError('redis_unavailable', `storing digest ${valid.id} failed: ${(error as Error).message}`);
    }
    if (created !== 1) throw new AppError('digest_state', `a digest with id "${valid.id}" already exists`);
  }

  /** The digest with its current status and counters, or undefined. */
  async get(id: string): Promise<Digest | undefined> {
    const hash = await this.redis.hgetall(this.keys.digest(id));
    if (Object.keys(hash).length === 0) return undefined;
    return fromHash(id, hash);
  }

  /** The frozen body (subject, preheader, slotted HTML and text), or undefined. */
  async getBody(id: string): Promise<DigestBody | undefined> {
    const json = await this.redis.get(this.keys.digestBody(id));
    if (json === null) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      throw new AppError('input_invalid', `digest body ${id} in Redis is not JSON`);
    }
    return parseInput(DigestBodySchema, value, `digest body ${id} in Redis`);
  }

  /** A newsletter's digests, newest first. */
  async listByNewsletter(newsletterId: string, limit: number): Promise<Digest[]> {
    return this.readIndex(this.keys.newsletterDigests(newsletterId), limit);
  }

  /** Every newsletter's digests, newest first. */
  async list(limit: number): Promise<Digest[]> {
    return this.readIndex(this.keys.digestsByCreated, limit);
  }

  private async readIndex(key: string, limit: number): Promise<Digest[]> {
    if (limit <= 0) return [];
    const ids = await this.redis.zrevrange(key, 0, limit - 1);
    const hashes = await Promise.all(ids.map((id) => this.redis.hgetall(this.keys.digest(id))));
    return ids.flatMap((id, i) => {
      const hash = hashes[i];
      return hash && Object.keys(hash).length > 0 ? [fromHash(id, hash)] : [];
    });
  }
}
