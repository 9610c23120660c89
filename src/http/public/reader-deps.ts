/** The reader use cases' dependencies, wired once from the app for the public routes. */
import type { App } from '../../app.js';
import type { ConfirmSubscriptionDeps } from '../../subscribers/confirm-subscription.js';
import type { ManagePreferencesDeps } from '../../subscribers/manage-preferences.js';
import type { ResubscribeByTokenDeps } from '../../subscribers/resubscribe-by-token.js';
import { subscribeReader, type SubscribeReaderDeps } from '../../subscribers/subscribe-reader.js';
import type { UnsubscribeByTokenDeps } from '../../subscribers/unsubscribe-by-token.js';

/** Every reader use case's dependencies. */
export type ReaderDeps = SubscribeReaderDeps &
  ConfirmSubscriptionDeps &
  ResubscribeByTokenDeps &
  ManagePreferencesDeps &
  UnsubscribeByTokenDeps;

/** Wires the reader use cases to the app's stores, queues and limits. */
export function readerDepsFromApp(app: App): ReaderDeps {
  const subscribe: SubscribeReaderDeps = {
    subscribers: app.subscribers,
    resendThrottle: app.readerLimits.confirmationResend,
    throttleKey: (email) => app.readerLimits.addressKey(email),
    enqueueConfirmation: (job) => app.queues.enqueue('transactional', { kind: 'confirmation', ...job }),
  };
  return {
    ...subscribe,
    config: app.config,
    subscribers: app.subscribers,
    clock: app.clock,
    enqueueWelcome: (job) => app.queues.enqueue('transactional', { kind: 'welcome', ...job }),
    requestConfirmation: async (email, newsletterIds) =>
      (await subscribeReader(subscribe, { email, newsletterIds })).isConfirmationQueued,
  };
}
