/**
 * Undo: the button on the page shown after an unsubscribe. Its token (purpose `resubscribe`, valid seven days) names
 * the reader and the newsletter they just left; pressing it takes them back at once, without a new confirmation,
 * because the same person opted in before and is undoing their own click. A suppressed address is never taken back.
 */
import type { Newsletter } from '../config.js';
import type { AddSubscriberInput, AddSubscriberResult } from './subscriber-store.js';
import type { Subscriber } from './subscriber.js';
import { verifyToken, type TokenSecrets } from './tokens.js';
import { preferencesTokenFor, type LinkFailure } from './confirm-subscription.js';

/** What undoing needs. */
export interface ResubscribeByTokenDeps {
  config: TokenSecrets & { newsletters: Newsletter[] };
  subscribers: {
    get(id: number): Promise<Subscriber | undefined>;
    add(input: AddSubscriberInput): Promise<AddSubscriberResult>;
  };
  clock: () => Date;
}

/** What the undo did. */
export type ResubscribeOutcome =
  LinkFailure | { kind: 'resubscribed'; newsletterName: string; preferencesToken: string } | { kind: 'suppressed' };

/** Verifies the undo token and takes the reader back into the newsletter. */
export async function resubscribeByToken(deps: ResubscribeByTokenDeps, token: string): Promise<ResubscribeOutcome> {
  const check = verifyToken(deps.config, token, 'resubscribe', deps.clock());
  if (check.status === 'invalid' || (check.status === 'valid' && check.claim.newsletterId === undefined)) {
    return { kind: 'invalid' };
  }
  if (check.status === 'expired') return { kind: 'expired' };
  const { subscriberId, newsletterId = '' } = check.claim;
  const newsletter = deps.config.newsletters.find((n) => n.id === newsletterId);
  const subscriber = await deps.subscribers.get(subscriberId);
  // Erased since, or the newsletter no longer exists: there is nothing to go back to.
  if (!subscriber || !newsletter) return { kind: 'expired' };
  const added = await deps.subscribers.add({
    email: subscriber.email,
    newsletterIds: [newsletterId],
    status: 'active',
    resubscribe: true,
  });
  if (added.refusal === 'suppressed') return { kind: 'suppressed' };
  return {
    kind: 'resubscribed',
    newsletterName: newsletter.name,
    preferencesToken: preferencesTokenFor(deps.config.secret, subscriberId),
  };
}
