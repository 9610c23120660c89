/**
 * Double opt-in, second half: the link in the confirmation email. Opening it (`readConfirmation`) changes nothing,
 * because mail scanners open links; pressing its button (`confirmSubscription`) makes the reader active in what they
 * asked for and queues the welcome message of each newsletter that has one and that the reader never left before.
 */
import type { Newsletter } from '../config.js';
import type { ConfirmationResult } from './subscriber-store.js';
import type { Subscriber } from './subscriber.js';
import { createToken, verifyToken, type TokenSecrets } from './tokens.js';

/** What confirming needs. */
export interface ConfirmSubscriptionDeps {
  config: TokenSecrets & { newsletters: Newsletter[] };
  subscribers: {
    get(id: number): Promise<Subscriber | undefined>;
    confirmRequest(id: number): Promise<ConfirmationResult>;
  };
  /** Queues a newsletter's welcome message for a reader who just joined it. */
  enqueueWelcome(job: { subscriberId: number; newsletterId: string; joinedAt: string }): Promise<unknown>;
  clock: () => Date;
}

/** A link that cannot be used: altered or not ours (`invalid`), or too old, or its sign-up is gone (`expired`). */
export type LinkFailure = { kind: 'invalid' } | { kind: 'expired' };

/** What the confirmation page shows. */
export type ConfirmationView =
  | LinkFailure
  /** A request awaits the button: these newsletters. */
  | { kind: 'pending'; newsletterNames: string[] }
  /** Confirmed now (`confirmed`) or before (`nothing-pending`): the reader's preferences link. */
  | { kind: 'confirmed' | 'nothing-pending'; newsletterNames: string[]; preferencesToken: string }
  /** The address bounced or complained: nothing can be confirmed. */
  | { kind: 'suppressed' };

/** Names of the given newsletter ids, in the configured order (unknown ids left out). */
export function newsletterNames(newsletters: readonly Newsletter[], ids: readonly string[]): string[] {
  return newsletters.filter((n) => ids.includes(n.id)).map((n) => n.name);
}

/** A reader's own preferences token (not tied to one newsletter; never expires). */
export function preferencesTokenFor(secret: string, subscriberId: number): string {
  return createToken(secret, { purpose: 'preferences', subscriberId });
}

function checkConfirmToken(deps: ConfirmSubscriptionDeps, token: string): LinkFailure | { subscriberId: number } {
  const check = verifyToken(deps.config, token, 'confirm', deps.clock());
  if (check.status === 'invalid') return { kind: 'invalid' };
  if (check.status === 'expired') return { kind: 'expired' };
  return { subscriberId: check.claim.subscriberId };
}

/** What the confirmation link's page shows, without changing anything. */
export async function readConfirmation(deps: ConfirmSubscriptionDeps, token: string): Promise<ConfirmationView> {
  const checked = checkConfirmToken(deps, token);
  if ('kind' in checked) return checked;
  const subscriber = await deps.subscribers.get(checked.subscriberId);
  // Purged with its expired request, or erased: the link has nothing left to confirm.
  if (!subscriber) return { kind: 'expired' };
  if (subscriber.status === 'suppressed') return { kind: 'suppressed' };
  const asked = subscriber.status === 'pending' ? subscriber.newsletters : subscriber.requested;
  if (asked.length > 0 && subscriber.requestedAt !== undefined) {
    return { kind: 'pending', newsletterNames: newsletterNames(deps.config.newsletters, asked) };
  }
  return {
    kind: 'nothing-pending',
    newsletterNames: newsletterNames(
      deps.config.newsletters,
      subscriber.status === 'active' ? subscriber.newsletters : [],
    ),
    preferencesToken: preferencesTokenFor(deps.config.secret, subscriber.id),
  };
}

/** Confirms the reader's open request (the button's POST) and queues the welcome messages that apply. */
export async function confirmSubscription(deps: ConfirmSubscriptionDeps, token: string): Promise<ConfirmationView> {
  const checked = checkConfirmToken(deps, token);
  if ('kind' in checked) return checked;
  const before = await deps.subscribers.get(checked.subscriberId);
  const result = await deps.subscribers.confirmRequest(checked.subscriberId);
  if (result.outcome === 'gone') return { kind: 'expired' };
  if (result.outcome === 'suppressed') return { kind: 'suppressed' };
  const subscriber = result.subscriber;
  const preferencesToken = preferencesTokenFor(deps.config.secret, checked.subscriberId);
  if (result.outcome === 'nothing-pending') {
    const taken = subscriber?.status === 'active' ? subscriber.newsletters : [];
    return {
      kind: 'nothing-pending',
      newsletterNames: newsletterNames(deps.config.newsletters, taken),
      preferencesToken,
    };
  }
  const joinedAt = deps.clock().toISOString();
  for (const newsletterId of result.activated) {
    const newsletter = deps.config.newsletters.find((n) => n.id === newsletterId);
    // A welcome is for a first join: a reader coming back to a newsletter they left knows it already.
    if (newsletter?.welcome && !before?.left.includes(newsletterId)) {
      await deps.enqueueWelcome({ subscriberId: checked.subscriberId, newsletterId, joinedAt });
    }
  }
  return {
    kind: 'confirmed',
    newsletterNames: newsletterNames(deps.config.newsletters, result.activated),
    preferencesToken,
  };
}
