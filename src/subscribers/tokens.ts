/**
 * Subscriber tokens: the only per-reader identifier a message carries. A token names a subscriber and a newsletter and
 * is signed with HMAC-SHA256, so the unsubscribe and preferences pages trust it without a lookup table and without an
 * email address in the URL.
 *
 * Format: `${subscriberId}.${newsletterId}.${mac}` where `mac` is the first 128 bits of
 * HMAC-SHA256(secret, `${subscriberId}.${newsletterId}`) in base64url (22 characters). Newsletter ids never contain a
 * dot, so the three parts split unambiguously, and every character is URL-safe.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors.js';

/** What a token asserts: this subscriber may manage their subscription to this newsletter. */
export interface SubscriberClaim {
  subscriberId: number;
  newsletterId: string;
}

/** The personal links a message carries for one reader and one newsletter. */
export interface SubscriberLinks {
  /** One-click unsubscribe (GET shows a confirmation page, POST per RFC 8058 unsubscribes). */
  unsubscribeUrl: string;
  /** The reader's preferences page. */
  preferencesUrl: string;
}

/** MAC length in bytes (128 bits); base64url of 16 bytes is 22 characters. */
const MAC_BYTES = 16;

const NEWSLETTER_ID = /^[a-z0-9][a-z0-9_-]{0,39}$/;
const TOKEN_PATTERN = /^([1-9][0-9]{0,15})\.([a-z0-9][a-z0-9_-]{0,39})\.([A-Za-z0-9_-]{22})$/;

/** Token text as accepted from a URL, before its MAC is checked. */
const TokenSchema = z.string().max(80).regex(TOKEN_PATTERN);

function macFor(secret: string, subscriberId: number, newsletterId: string): string {
  return createHmac('sha256', secret)
    .update(`${subscriberId}.${newsletterId}`)
    .digest()
    .subarray(0, MAC_BYTES)
    .toString('base64url');
}

function assertSecret(secret: string): void {
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new AppError('config_invalid', 'the token secret is empty');
  }
}

/** Signs a claim into a URL-safe token; throws `input_invalid` for an impossible claim. */
export function createSubscriberToken(secret: string, claim: SubscriberClaim): string {
  assertSecret(secret);
  // Checked by hand rather than with a schema: this runs once per recipient on the send path.
  const { subscriberId, newsletterId } = claim;
  if (
    !Number.isSafeInteger(subscriberId) ||
    subscriberId < 1 ||
    typeof newsletterId !== 'string' ||
    !NEWSLETTER_ID.test(newsletterId)
  ) {
    throw new AppError('input_invalid', 'subscriber token claim: subscriberId or newsletterId is invalid');
  }
  return `${subscriberId}.${newsletterId}.${macFor(secret, subscriberId, newsletterId)}`;
}

/**
 * Returns the claim of a genuine token, or `undefined` for anything else (malformed, tampered, other secret).
 * The MAC is compared in constant time; the comparison is over the base64url text, so a non-canonical spelling of the
 * same bytes is refused too.
 */
export function verifySubscriberToken(secret: string, token: unknown): SubscriberClaim | undefined {
  assertSecret(secret);
  const parsed = TokenSchema.safeParse(token);
  if (!parsed.success) return undefined;
  const match = TOKEN_PATTERN.exec(parsed.data);
  if (!match) return undefined;
  const [, idText = '', newsletterId = '', mac = ''] = match;
  const subscriberId = Number(idText);
  if (!Number.isSafeInteger(subscriberId)) return undefined;
  const expected = Buffer.from(macFor(secret, subscriberId, newsletterId), 'ascii');
  const given = Buffer.from(mac, 'ascii');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  return { subscriberId, newsletterId };
}

/** Like `verifySubscriberToken`, but throws `token_invalid` instead of returning `undefined`. */
export function requireSubscriberToken(secret: string, token: unknown): SubscriberClaim {
  const claim = verifySubscriberToken(secret, token);
  if (!claim) throw new AppError('token_invalid', 'this link is not valid (it may be incomplete or altered)');
  return claim;
}

/** The base URL without trailing slashes, so `${base}/unsubscribe/...` never doubles a slash. */
function trimBase(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '');
}

/** Builds the reader's unsubscribe and preferences URLs (`${baseUrl}/unsubscribe/${token}`, `/preferences/${token}`). */
export function subscriberLinks(site: { baseUrl: string }, secret: string, claim: SubscriberClaim): SubscriberLinks {
  return linksForToken(site, createSubscriberToken(secret, claim));
}

/** Builds the two personal URLs around an already-made token (or a preview placeholder). */
export function linksForToken(site: { baseUrl: string }, token: string): SubscriberLinks {
  const base = trimBase(site.baseUrl);
  const encoded = encodeURIComponent(token);
  return { unsubscribeUrl: `${base}/unsubscribe/${encoded}`, preferencesUrl: `${base}/preferences/${encoded}` };
}
