/**
 * A sign-up from the form (or a rejoin that needs a fresh confirmation): record the request and, at most once per
 * ten minutes for an address, send it a confirmation. Nothing here tells the caller what the address was before
 * (new, pending, active, suppressed): the form answers the same in every case, so it cannot be used to find out who
 * reads what.
 */
import type { SubscriptionRequest } from './subscriber-store.js';

/** The confirmation throttle: one point per address per ten minutes (see `createRateLimiter`). */
export interface ResendThrottle {
  peek(key: string): Promise<{ allowed: boolean }>;
  consume(key: string): Promise<{ allowed: boolean }>;
}

/** What a sign-up needs. */
export interface SubscribeReaderDeps {
  subscribers: {
    requestSubscription(input: {
      email: string;
      newsletterIds: string[];
      isConfirmationSent: boolean;
    }): Promise<SubscriptionRequest>;
  };
  /** Limits confirmations to one per address per ten minutes. */
  resendThrottle: ResendThrottle;
  /** The throttle's key for an address (a keyed hash: no address is stored in clear). */
  throttleKey(email: string): string;
  /** Queues the confirmation message of a request. */
  enqueueConfirmation(job: { subscriberId: number; requestedAt: string }): Promise<unknown>;
}

/** What happened, for logs and the CLI only: never shown to the person who filled in the form. */
export interface SubscribeReaderResult extends SubscriptionRequest {
  isConfirmationQueued: boolean;
}

/** Records the sign-up and queues its confirmation when one is due and the throttle allows it. */
export async function subscribeReader(
  deps: SubscribeReaderDeps,
  input: { email: string; newsletterIds: string[] },
): Promise<SubscribeReaderResult> {
  const key = deps.throttleKey(input.email);
  const mayConfirm = (await deps.resendThrottle.peek(key)).allowed;
  const request = await deps.subscribers.requestSubscription({ ...input, isConfirmationSent: mayConfirm });
  if (request.outcome !== 'requested' || !mayConfirm || request.requestedAt === undefined) {
    return { ...request, isConfirmationQueued: false };
  }
  await deps.resendThrottle.consume(key);
  await deps.enqueueConfirmation({ subscriberId: request.subscriberId, requestedAt: request.requestedAt });
  return { ...request, isConfirmationQueued: true };
}
