/**
 * Audit results in Redis, one JSON document per digest (`keys.digestAudit(id)`): the latest audit, replaced by the
 * next one. It lives as long as the digest; the editor's preview reads it with `get`.
 */
import { AppError, parseInput } from '../errors.js';
import type { RedisKeys, RedisClient } from '../redis.js';
import { AuditResultSchema, type AuditResult } from './finding.js';

/** Reads and writes a digest's latest audit result. */
export class RedisAuditStore {
  /** Uses the app's connection and key builder. */
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Pick<RedisKeys, 'digestAudit'>,
  ) {}

  /** Stores a digest's audit result, replacing the previous one. */
  async save(result: AuditResult): Promise<void> {
    const valid = parseInput(AuditResultSchema, result, 'audit result');
    await this.redis.set(this.keys.digestAudit(valid.digestId), JSON.stringify(valid));
  }

  /** The digest's latest audit result, or undefined when it was never audited. */
  async get(digestId: string): Promise<AuditResult | undefined> {
    const json = await this.redis.get(this.keys.digestAudit(digestId));
    if (json === null) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      throw new AppError('input_invalid', `audit of digest ${digestId} in Redis is not JSON`);
    }
    return parseInput(AuditResultSchema, value, `audit of digest ${digestId} in Redis`);
  }
}
