/**
 * The article store on Redis. Each article is one JSON string (`keys.article(id)`), indexed by publication time in a
 * sorted set (`keys.articlesByPublished`), with its provenance (the source that created it and the version stored)
 * in `keys.articleProvenance`. All live under the prefix's hash tag, so the upsert script's keys are always in one
 * slot (Redis Cluster safe).
 */
import { readLuaScript } from '../redis-scripts.js';
import { ArticleSchema, type Article } from './article.js';
import { describeSource } from './describe-source.js';
import type { RedisKeys, RedisClient } from '../redis.js';

/** Why a changed article was not stored. */
export const RefusalReason = {
  /** The stored version is newer (by `updatedAt`, else the stated publication time) than the one offered. */
  outdated: 'outdated',
  /** Another source created the article; only that source may change it. */
  ownedByAnotherSource: 'owned-by-another-source',
} as const;
export type RefusalReason = (typeof RefusalReason)[keyof typeof RefusalReason];

/** An article an upsert refused to store, and why. */
export interface RefusedArticle {
  articleId: string;
  title: string;
  url: string;
  reason: RefusalReason;
  /** For a collision: the source that owns the article (credentials and query removed). */
  ownedBy?: string;
}

/** Counts of one atomic upsert. */
export interface UpsertCounts {
  /** Articles that were not stored before. */
  ingested: number;
  /** Stored articles whose content changed; replaced in place (same id). */
  updated: number;
  /** Stored articles whose content hash matched; left untouched (whichever source sent them). */
  unchanged: number;
  /** Older versions refused because a newer one is stored. */
  outdated: number;
  /** Changes refused because another source created the article. */
  collisions: number;
  /** Every refused article, with its reason. */
  refused: RefusedArticle[];
}

/** What the ingest use cases need from an article store. */
export interface ArticleStore {
  upsertMany(articles: Article[]): Promise<UpsertCounts>;
  get(id: string): Promise<Article | undefined>;
  getMany(ids: string[]): Promise<Article[]>;
  listPublishedSince(since: Date | undefined, limit: number): Promise<Article[]>;
  list(limit: number): Promise<Article[]>;
  rememberCmsIds(pairs: { cmsId: string; articleId: string }[]): Promise<void>;
  resolveCmsIds(cmsIds: string[]): Promise<Map<string, string>>;
  removeMany(articleIds: string[]): Promise<number>;
}

const UPSERT_ARTICLES_LUA = readLuaScript(import.meta.url, 'lua/upsert-articles.lua');

/** Articles on Redis; see the module comment for the layout. */
export class RedisArticleStore implements ArticleStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /**
   * Stores a batch atomically (one Lua script: all or nothing): new articles are added, changed ones replaced in
   * place, identical ones left alone. A change is refused, and reported, when another source created the article or
   * when the stored version is newer. Duplicate ids in the batch count once (the first wins).
   */
  async upsertMany(articles: Article[]): Promise<UpsertCounts> {
    const seen = new Set<string>();
    const batch = articles.filter((article) => (seen.has(article.id) ? false : (seen.add(article.id), true)));
    const counts: UpsertCounts = { ingested: 0, updated: 0, unchanged: 0, outdated: 0, collisions: 0, refused: [] };
    if (batch.length === 0) return counts;
    const keys = [
      this.keys.articlesByPublished,
      this.keys.articleProvenance,
      ...batch.map((article) => this.keys.article(article.id)),
    ];
    const args: string[] = [];
    const byId = new Map<string, Article>();
    for (const article of batch) {
      const valid = ArticleSchema.parse(article);
      byId.set(valid.id, valid);
      const version = valid.versionAt ? String(Date.parse(valid.versionAt)) : '';
      args.push(valid.id, String(Date.parse(valid.publishedAt)), valid.contentHash, JSON.stringify(valid));
      args.push(valid.source, version);
    }
    const reply = (await this.redis.eval(UPSERT_ARTICLES_LUA, keys.length, ...keys, ...args)) as [
      number,
      number,
      number,
      string[],
      string[],
    ];
    const refusal = (id: string, reason: RefusalReason, ownedBy?: string): RefusedArticle => {
      const article = byId.get(id);
      return {
        articleId: id,
        title: article?.title ?? '',
        url: article?.url ?? '',
        reason,
        ...(ownedBy === undefined ? {} : { ownedBy: describeSource(ownedBy) }),
      };
    };
    counts.ingested = Number(reply[0]);
    counts.updated = Number(reply[1]);
    counts.unchanged = Number(reply[2]);
    for (const id of reply[3]) counts.refused.push(refusal(id, RefusalReason.outdated));
    for (let i = 0; i + 1 < reply[4].length; i += 2) {
      counts.refused.push(refusal(reply[4][i] as string, RefusalReason.ownedByAnotherSource, reply[4][i + 1]));
    }
    counts.outdated = reply[3].length;
    counts.collisions = reply[4].length / 2;
    return counts;
  }

  /** One article by id, or undefined. */
  async get(id: string): Promise<Article | undefined> {
    return decodeArticle(await this.redis.get(this.keys.article(id)));
  }

  /** Articles by id in the order asked (missing ids are left out), in one round trip. */
  async getMany(ids: string[]): Promise<Article[]> {
    if (ids.length === 0) return [];
    const values = await this.redis.mget(...ids.map((id) => this.keys.article(id)));
    return values.map(decodeArticle).filter((article): article is Article => article !== undefined);
  }

  /** Up to `limit` articles published strictly after `since` (all when undefined), newest first. */
  async listPublishedSince(since: Date | undefined, limit: number): Promise<Article[]> {
    if (limit <= 0) return [];
    const min = since ? `(${since.getTime()}` : '-inf';
    const ids = await this.redis.zrevrangebyscore(this.keys.articlesByPublished, '+inf', min, 'LIMIT', 0, limit);
    return this.getMany(ids);
  }

  /** The newest `limit` articles, newest first. */
  async list(limit: number): Promise<Article[]> {
    return this.listPublishedSince(undefined, limit);
  }

  /** Remembers which of our articles a CMS id names (webhook articles), so the CMS can unpublish by its own id. */
  async rememberCmsIds(pairs: { cmsId: string; articleId: string }[]): Promise<void> {
    if (pairs.length === 0) return;
    await this.redis.hset(this.keys.articlesByCmsId, ...pairs.flatMap((pair) => [pair.cmsId, pair.articleId]));
  }

  /** Our article ids for CMS ids the webhook sent before (unknown ones are left out). */
  async resolveCmsIds(cmsIds: string[]): Promise<Map<string, string>> {
    if (cmsIds.length === 0) return new Map();
    const found = await this.redis.hmget(this.keys.articlesByCmsId, ...cmsIds);
    return new Map(cmsIds.flatMap((cmsId, i) => (found[i] ? [[cmsId, found[i]] as [string, string]] : [])));
  }

  /** Removes articles (an unpublish) from the store and its index in one transaction; returns how many were there. */
  async removeMany(articleIds: string[]): Promise<number> {
    if (articleIds.length === 0) return 0;
    const replies = await this.redis
      .multi()
      .del(...articleIds.map((id) => this.keys.article(id)))
      .zrem(this.keys.articlesByPublished, ...articleIds)
      .hdel(this.keys.articleProvenance, ...articleIds)
      .exec();
    return Number(replies?.[0]?.[1] ?? 0);
  }
}

function decodeArticle(value: string | null): Article | undefined {
  if (value === null) return undefined;
  try {
    const parsed = ArticleSchema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
