/**
 * Signed subscriber tokens: the only per-reader identifier a message or a link carries. A token names a subscriber,
 * the purpose it may be used for and, where it applies, a newsletter and an expiry; it is signed with HMAC-SHA256, so
 * the reader's pages trust it without a lookup table and without an email address in the URL.
 *
 * Format: `${p}${subscriberId}.${newsletterId|-}.${expiry|-}.${mac}` where `p` is the purpose's letter (`c` confirm,
 * `u` unsubscribe, `p` preferences, `r` resubscribe), the expiry is in unix seconds, base 36, and `mac` is the first
 * 128 bits of HMAC-SHA256(secret, "lp2\n" + the four fields joined by "\n") in base64url (22 characters). Every
 * character is URL-safe, and a token signed for one purpose never verifies for another.
 *
 * Links sent before purposes existed have the legacy form `${subscriberId}.${newsletterId}.${mac}` (MAC over
 * `${subscriberId}.${newsletterId}`): they still verify, for unsubscribing and for the preferences page only, and
 * never expire, because they sit in readers' inboxes. The two MAC inputs cannot collide (one starts with "lp2", the
 * other with a digit).
 *
 * Rotation: tokens are signed with the current secret and verified against it and every previous secret
 * (`LETTERPRESS_PREVIOUS_SECRETS`), so changing the secret does not break links already sent.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors.js';

/** What a token may be used for. */
export const TokenPurpose = {
  /** Confirm a sign-up (double opt-in); expires. */
  confirm: 'confirm',
  /** Leave one newsletter (the List-Unsubscribe link); never expires. */
  unsubscribe: 'unsubscribe',
  /** Open the reader's preferences page; never expires. */
  preferences: 'preferences',
  /** Undo an unsubscribe at once; expires after seven days. */
  resubscribe: 'resubscribe',
} as const;
export type TokenPurpose = (typeof TokenPurpose)[keyof typeof TokenPurpose];

const PURPOSE_LETTER: Record<TokenPurpose, string> = {
  confirm: 'c',
  unsubscribe: 'u',
  preferences: 'p',
  resubscribe: 'r',
};
const PURPOSE_BY_LETTER = new Map(Object.entries(PURPOSE_LETTER).map(([purpose, letter]) => [letter, purpose]));

/** What a token asserts. */
export interface TokenClaim {
  purpose: TokenPurpose;
  subscriberId: number;
  /** The newsletter it applies to, when it applies to one. */
  newsletterId?: string;
  /** When it stops being accepted (second precision); absent: never. */
  expiresAt?: Date;
}

/** The secrets tokens are signed with (`secret`) and also verified against (`previousSecrets`). */
export interface TokenSecrets {
  secret: string;
  /** Secrets used before the current one, newest first. @defaultValue [] */
  previousSecrets?: readonly string[];
}

/** The result of checking a token for a purpose. */
export type TokenCheck =
  | { status: 'valid'; claim: TokenClaim }
  /** Genuine, but past its expiry. */
  | { status: 'expired'; claim: TokenClaim }
  /** Malformed, altered, signed by someone else, or made for another purpose. */
  | { status: 'invalid' };

/** The personal links a newsletter message carries for one reader. */
export interface SubscriberLinks {
  /** One-click unsubscribe (GET shows a confirmation page, POST per RFC 8058 unsubscribes). */
  unsubscribeUrl: string;
  /** The reader's preferences page. */
  preferencesUrl: string;
}

/** MAC length in bytes (128 bits); base64url of 16 bytes is 22 characters. */
const MAC_BYTES = 16;
const NEWSLETTER_ID = /^[a-z0-9][a-z0-9_-]{0,39}$/;
const TOKEN_PATTERN =
  /^([cupr])([1-9][0-9]{0,15})\.(-|[a-z0-9][a-z0-9_-]{0,39})\.(-|[0-9a-z]{1,10})\.([A-Za-z0-9_-]{22})$/;
const LEGACY_PATTERN = /^([1-9][0-9]{0,15})\.([a-z0-9][a-z0-9_-]{0,39})\.([A-Za-z0-9_-]{22})$/;
/** Longest token text looked at; anything longer is refused before any work. */
const MAX_TOKEN_LENGTH = 100;

function mac(secret: string, input: string): string {
  return createHmac('sha256', secret).update(input).digest().subarray(0, MAC_BYTES).toString('base64url');
}

function macInput(letter: string, subscriberId: number, newsletter: string, expiry: string): string {
  return `lp2\n${letter}\n${subscriberId}\n${newsletter}\n${expiry}`;
}

function assertSecret(secret: string): void {
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new AppError('config_invalid', 'the token secret is empty');
  }
}

/** Signs a claim into a URL-safe token; throws `input_invalid` for an impossible claim. */
export function createToken(secret: string, claim: TokenClaim): string {
  assertSecret(secret);
  // Checked by hand rather than with a schema: this runs twice per recipient on the send path.
  const { purpose, subscriberId, newsletterId, expiresAt } = claim;
  const letter = PURPOSE_LETTER[purpose];
  const expirySeconds = expiresAt === undefined ? undefined : Math.floor(expiresAt.getTime() / 1000);
  if (
    letter === undefined ||
    !Number.isSafeInteger(subscriberId) ||
    subscriberId < 1 ||
    (newsletterId !== undefined && (typeof newsletterId !== 'string' || !NEWSLETTER_ID.test(newsletterId))) ||
    (expirySeconds !== undefined && !(Number.isSafeInteger(expirySeconds) && expirySeconds > 0))
  ) {
    throw new AppError(
      'input_invalid',
      'subscriber token claim: purpose, subscriberId, newsletterId or expiry is invalid',
    );
  }
  const newsletter = newsletterId ?? '-';
  const expiry = expirySeconds === undefined ? '-' : expirySeconds.toString(36);
  return `${letter}${subscriberId}.${newsletter}.${expiry}.${mac(secret, macInput(letter, subscriberId, newsletter, expiry))}`;
}

function macMatches(secrets: TokenSecrets, input: string, given: string): boolean {
  const givenBytes = Buffer.from(given, 'ascii');
  let isMatch = false;
  // Every secret is tried (no early exit), each comparison in constant time.
  for (const secret of [secrets.secret, ...(secrets.previousSecrets ?? [])]) {
    assertSecret(secret);
    const expected = Buffer.from(mac(secret, input), 'ascii');
    if (expected.length === givenBytes.length && timingSafeEqual(expected, givenBytes)) isMatch = true;
  }
  return isMatch;
}

/**
 * Checks a token for one purpose: `valid` with its claim, `expired` (genuine but too old; reported only once the MAC
 * is right, so nobody can make up an "expired" answer), or `invalid` for anything else, including a genuine token of
 * another purpose. The MAC is compared over its base64url text, so a non-canonical spelling is refused too.
 */
export function verifyToken(secrets: TokenSecrets, token: unknown, purpose: TokenPurpose, now: Date): TokenCheck {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return { status: 'invalid' };
  const match = TOKEN_PATTERN.exec(token);
  if (!match) return verifyLegacyToken(secrets, token, purpose);
  const [, letter = '', idText = '', newsletter = '', expiry = '', given = ''] = match;
  if (PURPOSE_BY_LETTER.get(letter) !== purpose) return { status: 'invalid' };
  const subscriberId = Number(idText);
  if (!Number.isSafeInteger(subscriberId)) return { status: 'invalid' };
  if (!macMatches(secrets, macInput(letter, subscriberId, newsletter, expiry), given)) return { status: 'invalid' };
  const claim: TokenClaim = { purpose, subscriberId };
  if (newsletter !== '-') claim.newsletterId = newsletter;
  if (expiry !== '-') {
    claim.expiresAt = new Date(parseInt(expiry, 36) * 1000);
    if (claim.expiresAt.getTime() <= now.getTime()) return { status: 'expired', claim };
  }
  return { status: 'valid', claim };
}

/** Links sent before tokens had purposes: good for unsubscribing and preferences, forever. */
function verifyLegacyToken(secrets: TokenSecrets, token: string, purpose: TokenPurpose): TokenCheck {
  if (purpose !== 'unsubscribe' && purpose !== 'preferences') return { status: 'invalid' };
  const match = LEGACY_PATTERN.exec(token);
  if (!match) return { status: 'invalid' };
  const [, idText = '', newsletterId = '', given = ''] = match;
  const subscriberId = Number(idText);
  if (!Number.isSafeInteger(subscriberId)) return { status: 'invalid' };
  if (!macMatches(secrets, `${subscriberId}.${newsletterId}`, given)) return { status: 'invalid' };
  return { status: 'valid', claim: { purpose, subscriberId, newsletterId } };
}

/** The base URL without trailing slashes, so `${base}/unsubscribe/...` never doubles a slash. */
function trimBase(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '');
}

/** The absolute URL of a reader's page: `${baseUrl}/${page}/${token}`. */
export function pageUrl(site: { baseUrl: string }, page: string, token: string): string {
  return `${trimBase(site.baseUrl)}/${page}/${encodeURIComponent(token)}`;
}

/**
 * Builds a reader's unsubscribe and preferences URLs for one newsletter (`${baseUrl}/unsubscribe/<u-token>`,
 * `${baseUrl}/preferences/<p-token>`); neither expires.
 */
export function subscriberLinks(
  site: { baseUrl: string },
  secret: string,
  claim: { subscriberId: number; newsletterId: string },
): SubscriberLinks {
  return {
    unsubscribeUrl: pageUrl(site, 'unsubscribe', createToken(secret, { purpose: 'unsubscribe', ...claim })),
    preferencesUrl: pageUrl(site, 'preferences', createToken(secret, { purpose: 'preferences', ...claim })),
  };
}

/** Builds the two personal URLs around one given token (previews use a placeholder that never verifies). */
export function linksForToken(site: { baseUrl: string }, token: string): SubscriberLinks {
  return { unsubscribeUrl: pageUrl(site, 'unsubscribe', token), preferencesUrl: pageUrl(site, 'preferences', token) };
}
