/**
 * Access (GDPR article 15): everything held about an address, in one document. The record (address, name, status,
 * newsletters taken, left and awaiting confirmation, dates), whether and why it is suppressed, every digest it was a
 * recipient of and what happened to its copy, and how many queued jobs name it.
 */
import type { Newsletter } from '../config.js';
import type { Suppression } from './subscriber-store.js';
import { normaliseEmail } from './subscriber.js';
import type { Subscriber } from './subscriber.js';

/** One digest in the person's history. */
export interface DigestReceived {
  digestId: string;
  newsletterId: string;
  subject: string;
  createdAt: string;
  outcome: 'delivered' | 'failed' | 'skipped' | 'pending';
  reason?: string;
}

/** What exporting needs. */
export interface ExportPersonalDataDeps {
  subscribers: {
    getByEmail(email: string): Promise<Subscriber | undefined>;
    getSuppression(email: string): Promise<Suppression | undefined>;
  };
  ledger: { historyOf(subscriberId: number): Promise<DigestReceived[]> };
  jobs: {
    findJobsMentioning(
      subscriberId: number | undefined,
      email: string,
      options: { remove: boolean },
    ): Promise<{ jobs: number }>;
  };
  newsletters: readonly Newsletter[];
}

/** Everything held about one address. */
export interface PersonalData {
  email: string;
  subscriber: (Subscriber & { newsletterNames: string[] }) | null;
  suppression: Suppression | null;
  digests: DigestReceived[];
  queuedJobs: number;
}

/** Gathers everything held about the address; an address we never held gives an empty document. */
export async function exportPersonalData(deps: ExportPersonalDataDeps, email: string): Promise<PersonalData> {
  const address = normaliseEmail(email);
  const subscriber = await deps.subscribers.getByEmail(address);
  const names = (ids: string[]) => deps.newsletters.filter((n) => ids.includes(n.id)).map((n) => n.name);
  return {
    email: subscriber?.email ?? email.trim(),
    subscriber: subscriber ? { ...subscriber, newsletterNames: names(subscriber.newsletters) } : null,
    suppression: (await deps.subscribers.getSuppression(address)) ?? null,
    digests: subscriber ? await deps.ledger.historyOf(subscriber.id) : [],
    queuedJobs: (await deps.jobs.findJobsMentioning(subscriber?.id, address, { remove: false })).jobs,
  };
}
