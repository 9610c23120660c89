/**
 * Access for editors and operators, built once: named tokens (`EDITOR_TOKENS`, `OPS_TOKENS`: `name:token` pairs),
 * presented as HTTP Basic (user = name, password = token; what a browser asks for) or `Authorization: Bearer
 * <token>` (the API, Prometheus). No session, no cookie. Tokens are compared in constant time; failed attempts are
 * counted per client address in Redis and, past the limit, refused with 429 before any token is looked at.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { NamedToken } from '../../config.js';
import type { HttpEnv } from '../http-env.js';
import type { RateLimiter } from '../rate-limit.js';

/** How a guarded area answers and counts. */
export interface RequireTokenOptions {
  /** The accepted tokens; an empty list closes the area (404, as if it did not exist). */
  tokens: readonly NamedToken[];
  /** Shown by the browser's login prompt. */
  realm: string;
  /** Accept HTTP Basic (browsers) as well as Bearer. @defaultValue true */
  allowBasic?: boolean;
  /** Counts failed attempts per client address. */
  failures: RateLimiter;
  /** The client's address (see clientAddress). */
  clientAddress: (c: Context) => string;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The name whose token matches, comparing every configured token in constant time. */
export function matchToken(tokens: readonly NamedToken[], presented: string, name?: string): string | undefined {
  const presentedDigest = digest(presented);
  let found: string | undefined;
  for (const candidate of tokens) {
    const isMatch = timingSafeEqual(digest(candidate.token), presentedDigest);
    if (isMatch && (name === undefined || name === candidate.name)) found = candidate.name;
  }
  return found;
}

/** Reads the credentials of a request: Bearer token, or Basic name and token. */
function readCredentials(
  header: string | undefined,
  allowBasic: boolean,
): { token: string; name?: string } | undefined {
  if (!header) return undefined;
  const [scheme, value] = header.split(/\s+/, 2);
  if (!scheme || !value) return undefined;
  if (scheme.toLowerCase() === 'bearer') return { token: value };
  if (scheme.toLowerCase() === 'basic' && allowBasic) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    return { name: decoded.slice(0, colon), token: decoded.slice(colon + 1) };
  }
  return undefined;
}

/** Guards the routes after it; sets `principal` to the authenticated name. */
export function requireToken(options: RequireTokenOptions): MiddlewareHandler<HttpEnv> {
  const allowBasic = options.allowBasic ?? true;
  const challenge = allowBasic ? `Basic realm="${options.realm}", charset="UTF-8"` : `Bearer realm="${options.realm}"`;
  return async (c, next) => {
    if (options.tokens.length === 0) return c.text('Not found', 404);
    const address = options.clientAddress(c);
    const blocked = await options.failures.peek(address);
    if (!blocked.allowed) {
      c.header('Retry-After', String(blocked.retryAfterSeconds));
      return c.text('Too many failed attempts; try again later.', 429);
    }
    const credentials = readCredentials(c.req.header('authorization'), allowBasic);
    const name = credentials ? matchToken(options.tokens, credentials.token, credentials.name) : undefined;
    if (!name) {
      // Only a wrong token counts as an attempt; a request without one is the browser asking who we are.
      if (credentials) await options.failures.consume(address);
      c.header('WWW-Authenticate', challenge);
      return c.text('Authentication required.', 401);
    }
    c.set('principal', name);
    await next();
  };
}

/**
 * Refuses a state-changing request (anything but GET, HEAD, OPTIONS) whose `Origin` (or, without it, `Referer`) is
 * not one of ours: with Basic auth a browser would otherwise send the credentials along with a forged cross-site
 * form. A request with neither header (curl, the API with a Bearer token) passes. `refuse` writes the answer (a
 * public page answers with a page); by default a line of text.
 */
export function checkOrigin(
  allowedOrigins: () => readonly string[],
  refuse: (c: Context, reason: string) => Response | Promise<Response> = (c, reason) => c.text(reason, 403),
): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    const method = c.req.method.toUpperCase();
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return next();
    const origin = c.req.header('origin') ?? refererOrigin(c.req.header('referer'));
    const own = new URL(c.req.url).origin;
    if (origin && origin !== 'null' && origin !== own && !allowedOrigins().includes(origin)) {
      return refuse(c, 'This request came from another site and was refused.');
    }
    if (origin === 'null') return refuse(c, 'This request came from an opaque origin and was refused.');
    await next();
  };
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (!referer) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}
