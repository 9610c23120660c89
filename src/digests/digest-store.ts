/**
 * Digests in Redis. One hash per digest (`keys.digest(id)`) with one field per Digest property (`articleIds` as
 * JSON, counters `recipients delivered failed skipped` as integers that the delivery ledger increments in Lua), the
 * editor's composition as JSON (`keys.digestComposition(id)`), and once frozen the body (`keys.digestBody(id)`) and
 * the web version (`keys.digestWeb(id)`); two indexes scored by creation time: all digests
 * (`keys.digestsByCreated`) and each newsletter's (`keys.newsletterDigests(newsletterId)`). A per-newsletter hash
 * (`keys.newsletterCarried`) names the frozen digest that carries each article, so two digests never repeat one.
 * Every change of state is one script: a draft's edit, its freeze, and taking a frozen digest back.
 */
import { z } from 'zod';
import { AppError, parseInput } from '../errors.js';
import { readLuaScript, scriptCommand } from '../redis-scripts.js';
import type { RedisKeys, RedisClient } from '../redis.js';
import {
  DigestBodySchema,
  DigestCompositionSchema,
  DigestSchema,
  DigestWebSchema,
  type Digest,
  type DigestBody,
  type DigestComposition,
  type DigestStatus,
  type DigestWeb,
} from './digest.js';

/** The keys the store uses. */
export type DigestStoreKeys = Pick<
  RedisKeys,
  | 'digest'
  | 'digestBody'
  | 'digestComposition'
  | 'digestWeb'
  | 'digestsByCreated'
  | 'newsletterDigests'
  | 'newsletterCarried'
>;

const COUNTER_FIELDS = ['recipients', 'delivered', 'failed', 'skipped'] as const;
const OPTIONAL_FIELDS = [
  'kind',
  'since',
  'createdBy',
  'updatedBy',
  'scheduledFor',
  'frozenAt',
  'sendRequestedAt',
  'fannedOutAt',
  'sentAt',
  'pausedReason',
] as const;
const OPTIONAL_NUMBER_FIELDS = ['revision', 'htmlBytes'] as const;

const CREATE_DIGEST_LUA = readLuaScript(import.meta.url, 'lua/create-digest.lua');
const UPDATE_DRAFT_LUA = readLuaScript(import.meta.url, 'lua/update-draft.lua');
const FREEZE_DIGEST_LUA = readLuaScript(import.meta.url, 'lua/freeze-digest.lua');
const UNFREEZE_DIGEST_LUA = readLuaScript(import.meta.url, 'lua/unfreeze-digest.lua');

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
  for (const field of OPTIONAL_NUMBER_FIELDS) {
    const value = digest[field];
    if (value !== undefined) hash[field] = String(value);
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
  for (const field of OPTIONAL_NUMBER_FIELDS) {
    if (hash[field] !== undefined && hash[field] !== '') candidate[field] = Number(hash[field]);
  }
  return parseInput(DigestSchema, candidate, `digest ${id} in Redis`);
}

function parseStoredJson<S extends z.ZodType>(schema: S, json: string | null, what: string): z.infer<S> | undefined {
  if (json === null) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new AppError('input_invalid', `${what} in Redis is not JSON`);
  }
  return parseInput(schema, value, `${what} in Redis`);
}

/** Why a draft operation was refused, as the scripts report it. */
type Refusal = ['missing' | 'state' | 'stale', string];

function throwRefusal(digestId: string, [reason, detail]: Refusal): never {
  if (reason === 'missing') throw new AppError('digest_not_found', `no digest "${digestId}"`);
  if (reason === 'state') {
    throw new AppError('digest_state', `digest "${digestId}" is ${detail}: only a draft can be changed`);
  }
  throw new AppError(
    'digest_state',
    `digest "${digestId}" was changed by someone else meanwhile (now at revision ${detail}): reload it and try again`,
  );
}

/** What a draft edit writes: any of the article list, the subject shown in lists, and the composition. */
export interface DraftChange {
  articleIds?: string[];
  subject?: string;
  composition?: DigestComposition;
  /** Who made the change. */
  updatedBy: string;
}

/** What freezing writes: the rendered body and web version, the final articles and the status reached. */
export interface FreezeChange {
  body: DigestBody;
  web: DigestWeb;
  status: Extract<DigestStatus, 'ready' | 'scheduled'>;
  subject: string;
  articleIds: string[];
  /** Articles an editor pinned: they may repeat another digest's. */
  pinnedArticleIds: string[];
  scheduledFor?: string;
  htmlBytes: number;
  frozenAt: string;
  updatedBy: string;
}

/** The outcome of a freeze: done at a new revision, or refused because other digests carry some articles. */
export type FreezeOutcome = { kind: 'frozen'; revision: number } | { kind: 'conflict'; articleIds: string[] };

/** Reads and writes digests and their frozen bodies. */
export class RedisDigestStore {
  /** Registers the store's scripts on the connection. */
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: DigestStoreKeys,
  ) {
    redis.defineCommand('lpCreateDigest', { numberOfKeys: 5, lua: CREATE_DIGEST_LUA });
    redis.defineCommand('lpUpdateDraft', { numberOfKeys: 2, lua: UPDATE_DRAFT_LUA });
    redis.defineCommand('lpFreezeDigest', { numberOfKeys: 4, lua: FREEZE_DIGEST_LUA });
    redis.defineCommand('lpUnfreezeDigest', { numberOfKeys: 4, lua: UNFREEZE_DIGEST_LUA });
  }

  /**
   * Stores a new digest (a draft without a body, or a frozen one with it) and indexes it, in one script (all or
   * nothing). Refuses with `digest_state` when a digest with that id already exists, leaving it untouched.
   */
  async create(digest: Digest, body?: DigestBody, composition?: DigestComposition): Promise<void> {
    const valid = parseInput(DigestSchema, digest, 'digest');
    const validBody = body ? parseInput(DigestBodySchema, body, 'digest body') : undefined;
    const validComposition = composition
      ? parseInput(DigestCompositionSchema, composition, 'digest composition')
      : undefined;
    const score = Date.parse(valid.createdAt);
    let created: unknown;
    try {
      created = await scriptCommand(this.redis, 'lpCreateDigest')(
        this.keys.digest(valid.id),
        this.keys.digestBody(valid.id),
        this.keys.digestsByCreated,
        this.keys.newsletterDigests(valid.newsletterId),
        this.keys.digestComposition(valid.id),
        valid.id,
        score,
        validBody ? JSON.stringify(validBody) : '',
        validComposition ? JSON.stringify(validComposition) : '',
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

  /** The frozen body (subject, preheader, slotted HTML and text), or undefined (a draft has none). */
  async getBody(id: string): Promise<DigestBody | undefined> {
    return parseStoredJson(DigestBodySchema, await this.redis.get(this.keys.digestBody(id)), `digest body ${id}`);
  }

  /** What the editor wrote around the articles; an empty composition for a digest made without one. */
  async getComposition(id: string): Promise<DigestComposition> {
    const json = await this.redis.get(this.keys.digestComposition(id));
    return (
      parseStoredJson(DigestCompositionSchema, json, `digest composition ${id}`) ?? DigestCompositionSchema.parse({})
    );
  }

  /** The frozen web version, or undefined (a draft has none). */
  async getWeb(id: string): Promise<DigestWeb | undefined> {
    return parseStoredJson(DigestWebSchema, await this.redis.get(this.keys.digestWeb(id)), `digest web version ${id}`);
  }

  /**
   * Changes a draft in one script: refused with `digest_state` when it is no longer a draft or, given
   * `expectedRevision`, when someone changed it since (nothing is written then). Returns the new revision.
   */
  async updateDraft(id: string, change: DraftChange, expectedRevision?: number): Promise<number> {
    const fields: string[] = ['updatedBy', change.updatedBy];
    if (change.articleIds) fields.push('articleIds', JSON.stringify(change.articleIds));
    if (change.subject !== undefined) fields.push('subject', change.subject);
    const composition = change.composition
      ? JSON.stringify(parseInput(DigestCompositionSchema, change.composition, 'digest composition'))
      : '';
    const reply = (await scriptCommand(this.redis, 'lpUpdateDraft')(
      this.keys.digest(id),
      this.keys.digestComposition(id),
      expectedRevision === undefined ? '' : String(expectedRevision),
      composition,
      ...fields,
    )) as [string, string];
    if (reply[0] !== 'ok') throwRefusal(id, reply as Refusal);
    return Number(reply[1]);
  }

  /**
   * Freezes a draft in one script: stores the body and web version and moves it to `ready` or `scheduled`, unless
   * another digest of the newsletter already carries one of its unpinned articles (then nothing is written and the
   * conflicting ids come back). Refused with `digest_state` when it is not a draft (or not at `expectedRevision`).
   */
  async freeze(digest: Pick<Digest, 'id' | 'newsletterId'>, change: FreezeChange, expectedRevision?: number) {
    const body = parseInput(DigestBodySchema, change.body, 'digest body');
    const web = parseInput(DigestWebSchema, change.web, 'digest web version');
    const pinned = new Set(change.pinnedArticleIds);
    const fields: Record<string, string> = {
      status: change.status,
      subject: change.subject,
      articleIds: JSON.stringify(change.articleIds),
      htmlBytes: String(change.htmlBytes),
      frozenAt: change.frozenAt,
      updatedBy: change.updatedBy,
      ...(change.scheduledFor ? { scheduledFor: change.scheduledFor } : {}),
    };
    const reply = (await scriptCommand(this.redis, 'lpFreezeDigest')(
      this.keys.digest(digest.id),
      this.keys.digestBody(digest.id),
      this.keys.digestWeb(digest.id),
      this.keys.newsletterCarried(digest.newsletterId),
      expectedRevision === undefined ? '' : String(expectedRevision),
      digest.id,
      JSON.stringify(body),
      JSON.stringify(web),
      JSON.stringify(change.articleIds.filter((articleId) => !pinned.has(articleId))),
      JSON.stringify(change.articleIds),
      ...Object.entries(fields).flat(),
    )) as string[];
    if (reply[0] === 'conflict') return { kind: 'conflict', articleIds: reply.slice(1) } satisfies FreezeOutcome;
    if (reply[0] !== 'ok') throwRefusal(digest.id, reply as Refusal);
    return { kind: 'frozen', revision: Number(reply[1]) } satisfies FreezeOutcome;
  }

  /**
   * Takes back a digest that has not gone out: to `draft` (its body, web version and schedule are dropped, so it can
   * be edited again) or to `cancelled`; either way its articles are free for other digests. Only from one of the
   * `from` statuses; returns the status it had (undefined when there is no such digest).
   */
  async unfreeze(
    digest: Pick<Digest, 'id' | 'newsletterId'>,
    options: { from: DigestStatus[]; to: 'draft' | 'cancelled'; updatedBy: string },
  ): Promise<DigestStatus | undefined> {
    const previous = (await scriptCommand(this.redis, 'lpUnfreezeDigest')(
      this.keys.digest(digest.id),
      this.keys.digestBody(digest.id),
      this.keys.digestWeb(digest.id),
      this.keys.newsletterCarried(digest.newsletterId),
      options.from.join(','),
      digest.id,
      options.to,
      options.updatedBy,
    )) as string;
    return previous === '' ? undefined : (previous as DigestStatus);
  }

  /** Which of these articles a frozen digest of the newsletter already carries: article id → digest id. */
  async findCarried(newsletterId: string, articleIds: string[]): Promise<Map<string, string>> {
    if (articleIds.length === 0) return new Map();
    const owners = await this.redis.hmget(this.keys.newsletterCarried(newsletterId), ...articleIds);
    return new Map(articleIds.flatMap((id, i) => (owners[i] ? [[id, owners[i]] as [string, string]] : [])));
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
