/**
 * Signed webhook requests, built once for every webhook that uses our own scheme (the CMS articles push, the generic
 * bounce feed). The header `X-Letterpress-Signature: t=<unix seconds>,sha256=<hex>` carries HMAC-SHA256 of
 * `<t>.<raw body>` with the shared secret. A request is accepted when the signature is right (constant-time
 * compare), its timestamp is within the tolerance, and the same signature was not accepted before within that
 * window: each accepted signature is remembered in Redis until the window ends, so a captured request replayed even a
 * second later is refused.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../errors.js';
import type { RedisKeys, RedisClient } from '../../redis.js';

/** Options for {@link verifyWebhookSignature}. */
export interface VerifySignatureOptions {
  /** The clock. @defaultValue new Date() */
  now?: Date;
  /** Largest accepted age (or clock skew) of a timestamped signature, in seconds. @defaultValue 300 */
  toleranceSeconds?: number;
  /** Refuse signatures without `t=`. @defaultValue false */
  requireTimestamp?: boolean;
}

/** Default tolerance of a signature's timestamp, in seconds. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** Splits `t=...,sha256=...` into its fields. */
function readSignatureHeader(header: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of header.split(',')) {
    const equals = part.indexOf('=');
    if (equals > 0) fields.set(part.slice(0, equals).trim().toLowerCase(), part.slice(equals + 1).trim());
  }
  return fields;
}

/**
 * Checks a signature header against the raw body; constant-time comparison. Returns false for a missing, malformed,
 * wrong or expired signature. Without `t=` the HMAC covers the body alone (accepted only when a timestamp is not
 * required).
 */
export function verifyWebhookSignature(
  secret: string,
  rawBody: Buffer | string,
  header: string | undefined,
  options: VerifySignatureOptions = {},
): boolean {
  if (!secret || !header) return false;
  const fields = readSignatureHeader(header);
  const signature = fields.get('sha256');
  if (!signature || !/^[0-9a-f]{64}$/i.test(signature)) return false;
  const timestamp = fields.get('t');
  if (timestamp === undefined && options.requireTimestamp) return false;
  const hmac = createHmac('sha256', secret);
  if (timestamp !== undefined) {
    if (!/^\d{1,12}$/.test(timestamp)) return false;
    const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
    if (Math.abs(nowSeconds - Number(timestamp)) > (options.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS))
      return false;
    hmac.update(`${timestamp}.`);
  }
  hmac.update(rawBody);
  return timingSafeEqual(hmac.digest(), Buffer.from(signature, 'hex'));
}

/** Builds the signature header for a body (for CMS integrations, tests and the CLI). */
export function signWebhookBody(secret: string, rawBody: Buffer | string, timestamp?: number): string {
  const hmac = createHmac('sha256', secret);
  if (timestamp !== undefined) hmac.update(`${timestamp}.`);
  hmac.update(rawBody);
  const signature = `sha256=${hmac.digest('hex')}`;
  return timestamp === undefined ? signature : `t=${timestamp},${signature}`;
}

/** Remembers accepted signatures for as long as they could be replayed. */
export interface ReplayGuard {
  /** True the first time a signature is seen within `ttlSeconds`; false for a replay. */
  isFirstUse(signature: string, ttlSeconds: number): Promise<boolean>;
}

/** The replay guard on Redis: one key per accepted signature (its SHA-256), expiring with the window. */
export function createReplayGuard(redis: RedisClient, keys: Pick<RedisKeys, 'seenSignature'>): ReplayGuard {
  return {
    async isFirstUse(signature, ttlSeconds) {
      const digest = createHash('sha256').update(signature.toLowerCase()).digest('hex');
      return (await redis.set(keys.seenSignature(digest), '1', 'EX', ttlSeconds, 'NX')) === 'OK';
    },
  };
}

/** What {@link verifySignedRequest} needs. */
export interface VerifySignedRequestDeps {
  secret: string;
  replay: ReplayGuard;
  clock: () => Date;
  /** @defaultValue 300 */
  toleranceSeconds?: number;
}

/**
 * Accepts a signed request once: throws `unauthorized` for a missing, wrong, untimestamped or expired signature and
 * `replayed` for a signature already accepted within the window.
 */
export async function verifySignedRequest(
  deps: VerifySignedRequestDeps,
  rawBody: Buffer,
  header: string | undefined,
): Promise<void> {
  const toleranceSeconds = deps.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS;
  const options = { now: deps.clock(), toleranceSeconds, requireTimestamp: true };
  if (!verifyWebhookSignature(deps.secret, rawBody, header, options)) {
    throw new AppError('unauthorized', 'webhook signature missing, malformed, wrong or expired');
  }
  const signature = readSignatureHeader(header ?? '').get('sha256') ?? '';
  // A timestamp is accepted up to the tolerance either side of now, so a signature can be replayed for twice that.
  if (!(await deps.replay.isFirstUse(signature, toleranceSeconds * 2))) {
    throw new AppError('replayed', 'this signed request was already received; sign each request anew');
  }
}
