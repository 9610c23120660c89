/**
 * Headers on every response. Public pages get the strictest policy: nothing remote may load, no script at all,
 * nothing is remembered, no referrer leaks to another site. A page that needs its own script (the editor's live progress) sets its
 * own Content-Security-Policy with a nonce; the middleware leaves a policy a route set alone.
 */
import type { MiddlewareHandler } from 'hono';
import type { HttpEnv } from './http-env.js';

/** The policy of every page that sets none of its own. */
export const STRICT_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** A policy for a page with its own script and styles, same origin only. */
export function cspWithScriptNonce(nonce: string, extra: { frameSrc?: string } = {}): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    "style-src 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    `frame-src ${extra.frameSrc ?? "'none'"}`,
    "form-action 'self'",
    "frame-ancestors 'self'",
    "base-uri 'none'",
  ].join('; ');
}

/**
 * The referrer policy of every page that sets none of its own: `same-origin`, so nothing leaves with a link or a
 * request to another site. Not `no-referrer`: under it a browser sends `Origin: null` with our own forms' POSTs, which
 * the Origin check (`checkOrigin`) cannot tell from a forged request.
 */
export const DEFAULT_REFERRER_POLICY = 'same-origin';

const FIXED_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'interest-cohort=(), browsing-topics=()',
};

/**
 * Sets the fixed headers, the strict CSP and `no-referrer` unless the route chose its own, and drops any Set-Cookie
 * (we never set one).
 */
export function securityHeaders(): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(FIXED_HEADERS)) c.res.headers.set(name, value);
    if (!c.res.headers.has('Content-Security-Policy')) c.res.headers.set('Content-Security-Policy', STRICT_CSP);
    if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
    if (!c.res.headers.has('Referrer-Policy')) c.res.headers.set('Referrer-Policy', DEFAULT_REFERRER_POLICY);
    c.res.headers.delete('Set-Cookie');
  };
}
