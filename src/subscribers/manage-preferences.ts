/**
 * The preferences page behind every message's footer link: which newsletters the reader takes, joining and leaving
 * any of them, leaving all at once, and the address it all applies to. Leaving is immediate. Joining is immediate for
 * a reader who takes something or left less than seven days ago; a reader who left everything longer ago confirms
 * again by email first, as at sign-up, since the address may have changed hands.
 */
import type { Newsletter } from '../config.js';
import { newsletterNames, type LinkFailure } from './confirm-subscription.js';
import type { AddSubscriberInput, AddSubscriberResult } from './subscriber-store.js';
import type { Subscriber } from './subscriber.js';
import { verifyToken, type TokenSecrets } from './tokens.js';

/** A reader who left everything less than this long ago may rejoin without a new confirmation. */
export const REJOIN_WITHOUT_CONFIRMATION_MS = 7 * 24 * 3_600_000;

/** What the preferences page needs. */
export interface ManagePreferencesDeps {
  config: TokenSecrets & { newsletters: Newsletter[] };
  subscribers: {
    get(id: number): Promise<Subscriber | undefined>;
    add(input: AddSubscriberInput): Promise<AddSubscriberResult>;
    unsubscribe(id: number, newsletterId?: string): Promise<Subscriber | undefined>;
  };
  /** Starts a confirmed sign-up for these newsletters (see `subscribeReader`); true when an email was queued. */
  requestConfirmation(email: string, newsletterIds: string[]): Promise<boolean>;
  enqueueWelcome(job: { subscriberId: number; newsletterId: string; joinedAt: string }): Promise<unknown>;
  clock: () => Date;
}

/** One newsletter on the page. */
export interface PreferenceRow {
  id: string;
  name: string;
  description?: string;
  /** The reader receives it. */
  isMember: boolean;
  /** The reader asked for it and has not confirmed yet. */
  isAwaitingConfirmation: boolean;
}

/** What the page shows. */
export interface PreferencesView {
  kind: 'preferences';
  email: string;
  status: Subscriber['status'];
  rows: PreferenceRow[];
  /** One sentence about what the last change did. */
  notice?: string;
}

/** A change from the page's forms. */
export type PreferencesChange = { kind: 'leave-all' } | { kind: 'choose'; newsletterIds: string[] };

async function readReader(
  deps: ManagePreferencesDeps,
  token: string,
): Promise<LinkFailure | { subscriber: Subscriber }> {
  const check = verifyToken(deps.config, token, 'preferences', deps.clock());
  if (check.status !== 'valid') return { kind: check.status };
  const subscriber = await deps.subscribers.get(check.claim.subscriberId);
  // Erased: the link once worked, and now has nothing to show.
  return subscriber ? { subscriber } : { kind: 'expired' };
}

function viewOf(deps: ManagePreferencesDeps, subscriber: Subscriber, notice?: string): PreferencesView {
  const taken = subscriber.status === 'active' ? subscriber.newsletters : [];
  const awaiting = subscriber.status === 'pending' ? subscriber.newsletters : subscriber.requested;
  return {
    kind: 'preferences',
    email: subscriber.email,
    status: subscriber.status,
    rows: deps.config.newsletters.map((newsletter) => ({
      id: newsletter.id,
      name: newsletter.name,
      description: newsletter.description,
      isMember: taken.includes(newsletter.id),
      isAwaitingConfirmation: !taken.includes(newsletter.id) && awaiting.includes(newsletter.id),
    })),
    notice,
  };
}

/** The page for a preferences link (changes nothing). */
export async function readPreferences(
  deps: ManagePreferencesDeps,
  token: string,
): Promise<LinkFailure | PreferencesView> {
  const found = await readReader(deps, token);
  return 'kind' in found ? found : viewOf(deps, found.subscriber);
}

function mayRejoinAtOnce(subscriber: Subscriber, now: Date): boolean {
  if (subscriber.status === 'active') return true;
  if (subscriber.status !== 'unsubscribed' || subscriber.leftAt === undefined) return false;
  return now.getTime() - Date.parse(subscriber.leftAt) < REJOIN_WITHOUT_CONFIRMATION_MS;
}

/** Applies a change from the page and returns the page again, with a sentence saying what happened. */
export async function updatePreferences(
  deps: ManagePreferencesDeps,
  token: string,
  change: PreferencesChange,
): Promise<LinkFailure | PreferencesView> {
  const found = await readReader(deps, token);
  if ('kind' in found) return found;
  const subscriber = found.subscriber;
  if (change.kind === 'leave-all') {
    const after = (await deps.subscribers.unsubscribe(subscriber.id)) ?? subscriber;
    return viewOf(deps, after, 'You have left every newsletter. Nothing more will be sent to you.');
  }
  const known = new Set(deps.config.newsletters.map((n) => n.id));
  const chosen = change.newsletterIds.filter((id) => known.has(id));
  const taken = subscriber.status === 'active' ? subscriber.newsletters : [];
  for (const newsletterId of taken.filter((id) => !chosen.includes(id))) {
    await deps.subscribers.unsubscribe(subscriber.id, newsletterId);
  }
  const joins = chosen.filter((id) => !taken.includes(id));
  const notices: string[] = [];
  if (joins.length > 0 && subscriber.status === 'suppressed') {
    notices.push(
      'Messages to this address bounced or were reported, so we cannot send any; write to us if that was a mistake.',
    );
  } else if (joins.length > 0 && mayRejoinAtOnce(subscriber, deps.clock())) {
    await deps.subscribers.add({ email: subscriber.email, newsletterIds: joins, status: 'active', resubscribe: true });
    const joinedAt = deps.clock().toISOString();
    for (const newsletterId of joins) {
      const newsletter = deps.config.newsletters.find((n) => n.id === newsletterId);
      if (newsletter?.welcome && !subscriber.left.includes(newsletterId)) {
        await deps.enqueueWelcome({ subscriberId: subscriber.id, newsletterId, joinedAt });
      }
    }
  } else if (joins.length > 0) {
    const isSent = await deps.requestConfirmation(subscriber.email, joins);
    const names = newsletterNames(deps.config.newsletters, joins).join(', ');
    notices.push(
      isSent
        ? `We sent a confirmation email for ${names}: press its button and it starts.`
        : `A confirmation email was sent a few minutes ago: press its button to start ${names}.`,
    );
  }
  const after = (await deps.subscribers.get(subscriber.id)) ?? subscriber;
  const receiving = newsletterNames(deps.config.newsletters, after.status === 'active' ? after.newsletters : []);
  notices.unshift(
    receiving.length > 0
      ? `Saved. You receive ${receiving.join(', ')}.`
      : 'Saved. You receive none of our newsletters.',
  );
  return viewOf(deps, after, notices.join(' '));
}
