/**
 * The per-process cache of prepared digest messages: a digest's MIME is built once per process (never per
 * recipient or per batch) and shared by every batch of that digest the process runs. A frozen digest never changes,
 * so entries never go stale; the oldest are dropped beyond a few digests.
 */
import type { Digest, DigestBody } from '../digests/digest.js';
import { AppError } from '../errors.js';
import type { MessageTemplate } from './deliver-batch.js';

/** What the cache needs. */
export interface MessageTemplateCacheDeps {
  /** Loads a digest's frozen body. */
  loadBody(digestId: string): Promise<DigestBody | undefined>;
  /** Builds the message once (the app binds `prepareDigestMessage` with the newsletter, site, secret and images). */
  prepare(digest: Digest, body: DigestBody): MessageTemplate | Promise<MessageTemplate>;
  /** Digests kept at once. @defaultValue 8 */
  maxEntries?: number;
}

/** A cache of prepared messages keyed by digest id. */
export interface MessageTemplateCache {
  get(digest: Digest): Promise<MessageTemplate>;
  /** How many times a message was prepared (tests check "once per digest"). */
  readonly preparedCount: number;
}

/** Creates the cache; concurrent batches of one digest share a single preparation. */
export function createMessageTemplateCache(deps: MessageTemplateCacheDeps): MessageTemplateCache {
  const entries = new Map<string, Promise<MessageTemplate>>();
  const maxEntries = deps.maxEntries ?? 8;
  let preparedCount = 0;
  return {
    get preparedCount() {
      return preparedCount;
    },
    get(digest) {
      const cached = entries.get(digest.id);
      if (cached) return cached;
      const prepared = (async () => {
        const body = await deps.loadBody(digest.id);
        if (!body) throw new AppError('digest_not_found', `digest "${digest.id}" has no stored body`);
        preparedCount += 1;
        return deps.prepare(digest, body);
      })();
      entries.set(digest.id, prepared);
      // A failed preparation is forgotten so the next batch tries again, but only if it is still the cached one: a
      // stale preparation (evicted, then replaced) that fails late must not drop its newer replacement.
      prepared.catch(() => {
        if (entries.get(digest.id) === prepared) entries.delete(digest.id);
      });
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
      return prepared;
    },
  };
}
