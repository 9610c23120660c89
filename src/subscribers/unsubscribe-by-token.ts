/** One-click unsubscribe: verify the signed token, then stop the newsletter for that reader at once. */
import type { Newsletter } from '../config.js';
import { verifySubscriberToken } from './tokens.js';

/** What unsubscribing needs. */
export interface UnsubscribeByTokenDeps {
  config: { secret: string; newsletters: Newsletter[] };
  subscribers: { unsubscribe(id: number, newsletterId?: string): Promise<unknown> };
}

/** The outcome: `done` (also when the reader had already left, so the link stays idempotent) or `invalid`. */
export type UnsubscribeOutcome = { kind: 'done'; newsletterName: string } | { kind: 'invalid' };

/** Verifies the token (HMAC, constant time) and unsubscribes the reader from the token's newsletter. */
export async function unsubscribeByToken(deps: UnsubscribeByTokenDeps, token: string): Promise<UnsubscribeOutcome> {
  const claim = verifySubscriberToken(deps.config.secret, token);
  if (!claim) return { kind: 'invalid' };
  const newsletter = deps.config.newsletters.find((n) => n.id === claim.newsletterId);
  // A newsletter removed from the config still gets unsubscribed: the reader asked to stop.
  await deps.subscribers.unsubscribe(claim.subscriberId, claim.newsletterId);
  return { kind: 'done', newsletterName: newsletter?.name ?? 'these' };
}
