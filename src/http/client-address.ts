/**
 * The client's address for rate limits: the socket's peer, or, behind a reverse proxy the operator trusts
 * (`TRUST_PROXY`), the address that proxy put last in `X-Forwarded-For`. Never logged.
 */
import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';

/** How many proxies in front of us append to `X-Forwarded-For` (0: trust none, use the socket's peer). */
export function clientAddress(c: Context, trustedProxies: number): string {
  let peer = 'unknown';
  try {
    peer = getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    // Requests made without a socket (tests calling app.request) have no peer.
  }
  if (trustedProxies <= 0) return peer;
  const forwarded = (c.req.header('x-forwarded-for') ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  // Each trusted proxy appends the address it saw; the client is the one the outermost trusted proxy saw.
  return forwarded[forwarded.length - trustedProxies] ?? peer;
}
