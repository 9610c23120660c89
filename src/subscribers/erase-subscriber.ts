/**
 * Erasure (GDPR article 17): every trace of an address goes. Its record and address index entry, its active bits and
 * open sign-up, its soft-bounce count, its lines in the delivery ledgers, the queued jobs that name it or quote it
 * (and the queue events that quote it), its rate-limit counters. One thing stays when the address was suppressed:
 * the suppression's keyed hash (LETTERPRESS_SUPPRESSION_KEY), so it stays suppressed without being stored.
 */
import type { Suppression } from './subscriber-store.js';
import { normaliseEmail } from './subscriber.js';
import type { Subscriber } from './subscriber.js';

/** What erasing needs. */
export interface EraseSubscriberDeps {
  subscribers: {
    getByEmail(email: string): Promise<Subscriber | undefined>;
    getSuppression(email: string): Promise<Suppression | undefined>;
    eraseRecord(email: string, newsletterIds: readonly string[]): Promise<{ subscriberId?: number; removed: number }>;
  };
  /** The delivery ledgers: forget the subscriber id. */
  ledger: { forgetSubscriber(subscriberId: number): Promise<number> };
  /** The queues: find (and remove) jobs naming the id or quoting the address. */
  jobs: {
    findJobsMentioning(
      subscriberId: number | undefined,
      email: string,
      options: { remove: boolean },
    ): Promise<{ jobs: number; removed: number; events: number }>;
  };
  /** Forgets the rate-limit counters kept for the address. */
  forgetRateLimits(email: string): Promise<void>;
  /** Every configured newsletter id (their active bits are cleared). */
  newsletterIds: readonly string[];
}

/** What was erased, in counts: nothing of the person is repeated here. */
export interface EraseSubscriberResult {
  /** Whether a subscriber record existed. */
  hadRecord: boolean;
  /** Whether the address stays suppressed (by its keyed hash only). */
  staysSuppressed: boolean;
  ledgersChanged: number;
  jobsRemoved: number;
  eventsRemoved: number;
}

/** Erases the address (see the module comment). Erasing an address we never held is harmless and says so. */
export async function eraseSubscriber(deps: EraseSubscriberDeps, email: string): Promise<EraseSubscriberResult> {
  const address = normaliseEmail(email);
  const subscriber = await deps.subscribers.getByEmail(address);
  const suppression = await deps.subscribers.getSuppression(address);
  // Jobs first: a confirmation still queued must not go out to an address that is being erased.
  const jobs = await deps.jobs.findJobsMentioning(subscriber?.id, address, { remove: true });
  const erased = await deps.subscribers.eraseRecord(address, deps.newsletterIds);
  const subscriberId = erased.subscriberId ?? subscriber?.id;
  const ledgersChanged = subscriberId === undefined ? 0 : await deps.ledger.forgetSubscriber(subscriberId);
  await deps.forgetRateLimits(address);
  return {
    hadRecord: subscriberId !== undefined,
    staysSuppressed: suppression !== undefined,
    ledgersChanged,
    jobsRemoved: jobs.removed,
    eventsRemoved: jobs.events,
  };
}
