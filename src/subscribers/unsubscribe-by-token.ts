/** One-click unsubscribe: verify the signed token, then stop the newsletter for that reader at once. */
import type { Newsletter } from '../config.js';
import { createToken, verifyToken, type TokenSecrets } from './tokens.js';

/** What unsubscribing needs. */
export interface UnsubscribeByTokenDeps {
  config: TokenSecrets & { newsletters: Newsletter[] };
  subscribers: { unsubscribe(id: number, newsletterId?: string): Promise<unknown> };
  clock: () => Date;
}

/** How long the undo link on the page after an unsubscribe stays valid. */
export const RESUBSCRIBE_TOKEN_TTL_MS = 7 * 24 * 3_600_000;

/**
 * The outcome: `done` (also when the reader had already left, so the link stays idempotent) with the newsletter's
 * name and the token of the undo button, or `invalid`.
 */
export type UnsubscribeOutcome =
  | {
      kind: 'done';
      subscriberId: number;
      newsletterId: string;
      newsletterName: string;
      /** The undo button's token (purpose `resubscribe`, seven days). */
      resubscribeToken: string;
      /** The reader's preferences token. */
      preferencesToken: string;
    }
  | { kind: 'invalid' };

/**
 * Verifies the token (HMAC, constant time; current or previous secrets; purpose `unsubscribe`, or a link sent before
 * tokens had purposes) and unsubscribes the reader from the token's newsletter.
 */
export async function unsubscribeByToken(deps: UnsubscribeByTokenDeps, token: string): Promise<UnsubscribeOutcome> {
  const now = deps.clock();
  const check = verifyToken(deps.config, token, 'unsubscribe', now);
  if (check.status !== 'valid' || check.claim.newsletterId === undefined) return { kind: 'invalid' };
  const { subscriberId, newsletterId } = check.claim;
  const newsletter = deps.config.newsletters.find((n) => n.id === newsletterId);
  // A newsletter removed from the config still gets unsubscribed: the reader asked to stop.
  await deps.subscribers.unsubscribe(subscriberId, newsletterId);
  const resubscribeToken = createToken(deps.config.secret, {
    purpose: 'resubscribe',
    subscriberId,
    newsletterId,
    expiresAt: new Date(now.getTime() + RESUBSCRIBE_TOKEN_TTL_MS),
  });
  return {
    kind: 'done',
    subscriberId,
    newsletterId,
    newsletterName: newsletter?.name ?? 'these',
    resubscribeToken,
    preferencesToken: createToken(deps.config.secret, { purpose: 'preferences', subscriberId }),
  };
}
