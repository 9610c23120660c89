/**
 * Digests in Redis. One hash per digest (`keys.digest(id)`) with one field per Digest property (`articleIds` as
 * JSON, counters `recipients delivered failed skipped` as integers that the delivery ledger increments in Lua), the
 * frozen body as JSON (`keys.digestBody(id)`), and two indexes scored by creation time: all digests
 * (`keys.digestsByCreated`) and each newsletter's (`keys.newsletterDigests(newsletterId)`).
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { AppError, parseInput } from '../errors.js';
import type { RedisKeys } from '../redis.js';
import { DigestBodySchema, DigestSchema, type Digest, type DigestBody } from './digest.js';

/** The digest fields `update` may change. */
export type DigestUpdate = Partial<
  Pick<Digest, 'status' | 'sendRequestedAt' | 'fannedOutAt' | 'sentAt' | 'pausedReason'>
>;

/** The keys the store uses. */
export type DigestStoreKeys = Pick<RedisKeys, 'digest' | 'digestBody' | 'digestsByCreated' | 'newsletterDigests'>;

const COUNTER_FIELDS = ['recipients', 'delivered', 'failed', 'skipped'] as const;
const OPTIONAL_FIELDS = ['since', 'sendRequestedAt', 'fannedOutAt', 'sentAt', 'pausedReason'] as const;

const DigestUpdateSchema = DigestSchema.pick({
  status: true,
  sendRequestedAt: true,
  fannedOutAt: true,
  sentAt: true,
  pausedReason: true,
}).partial();

/**
 * Updates an existing digest hash and nothing else.
 * KEYS[1] digest hash. ARGV[1] number of fields to set, then that many field/value pairs, then fields to delete.
 * Returns 1, or 0 when the digest does not exist (nothing is written, so no partial hash appears).
 */
const UPDATE_DIGEST_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local setCount = tonumber(ARGV[1])
local i = 2
if setCount > 0 then
  local fieldsAndValues = {}
  for n = 1, setCount do
    fieldsAndValues[#fieldsAndValues + 1] = ARGV[i]
    fieldsAndValues[#fieldsAndValues + 1] = ARGV[i + 1]
    i = i + 2
  end
  redis.call('HSET', KEYS[1], unpack(fieldsAndValues))
end
if i <= #ARGV then
  redis.call('HDEL', KEYS[1], unpack(ARGV, i))
end
return 1
`;

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
  constructor(
    private readonly redis: Redis,
    private readonly keys: DigestStoreKeys,
  ) {}

  /** Stores a new digest with its body and indexes it, all in one MULTI (all or nothing). */
  async create(digest: Digest, body: DigestBody): Promise<void> {
    const valid = parseInput(DigestSchema, digest, 'digest');
    const validBody = parseInput(DigestBodySchema, body, 'digest body');
    const score = Date.parse(valid.createdAt);
    const results = await this.redis
      .multi()
      .hset(this.keys.digest(valid.id), toHash(valid))
      .set(this.keys.digestBody(valid.id), JSON.stringify(validBody))
      .zadd(this.keys.digestsByCreated, score, valid.id)
      .zadd(this.keys.newsletterDigests(valid.newsletterId), score, valid.id)
      .exec();
    const failure = results?.find(([error]) => error);
    if (!results || failure) {
      throw new AppError(
        'redis_unavailable',
        `storing digest ${valid.id} failed: ${failure?.[0]?.message ?? 'transaction aborted'}`,
      );
    }
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

  /**
   * Sets the given fields of an existing digest; a field given as `undefined` is removed (e.g. `pausedReason` on
   * resume). Throws `digest_not_found` when there is no such digest. Counters are the ledger's, not changed here.
   */
  async update(id: string, fields: DigestUpdate): Promise<void> {
    const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    const valid = parseInput(DigestUpdateSchema, defined, `digest ${id} update`);
    const toSet = Object.entries(valid).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
    const toDelete = Object.keys(fields).filter((k) => (fields as Record<string, unknown>)[k] === undefined);
    if (toSet.length === 0 && toDelete.length === 0) return;
    const updated = await this.redis.eval(
      UPDATE_DIGEST_LUA,
      1,
      this.keys.digest(id),
      String(toSet.length),
      ...toSet.flat(),
      ...toDelete,
    );
    if (updated !== 1) throw new AppError('digest_not_found', `no digest "${id}"`);
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
