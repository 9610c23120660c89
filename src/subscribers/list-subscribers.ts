/**
 * Reading the readers out: `subscribers export` (CSV for a spreadsheet), `subscribers list` (a filtered page) and
 * `subscribers count` (by status). All three walk the records in id order in pipelined pages.
 */
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { stringify } from 'csv-stringify/sync';
import type { Suppression } from './subscriber-store.js';
import type { Subscriber, SubscriberStatus } from './subscriber.js';

/** What reading needs. */
export interface ListSubscribersDeps {
  subscribers: {
    scan(options?: { pageSize?: number }): AsyncGenerator<Subscriber[]>;
    getSuppression(email: string): Promise<Suppression | undefined>;
  };
}

/** Which readers. */
export interface SubscriberFilter {
  /** Readers of this newsletter: active ones who take it; others who asked for it, took it or left it. */
  newsletterId?: string;
  status?: SubscriberStatus;
  /** Case-insensitive text in the address or the name. */
  search?: string;
}

/** Whether a reader is one the filter asks for. */
export function matchesFilter(subscriber: Subscriber, filter: SubscriberFilter): boolean {
  if (filter.status && subscriber.status !== filter.status) return false;
  if (filter.newsletterId) {
    const id = filter.newsletterId;
    // An active reader belongs to the newsletters they take; the others to what they asked for, took or left.
    const related =
      subscriber.status === 'active'
        ? subscriber.newsletters
        : [...subscriber.newsletters, ...subscriber.requested, ...subscriber.left];
    if (!related.includes(id)) return false;
  }
  if (filter.search) {
    const text = filter.search.toLowerCase();
    if (!subscriber.email.toLowerCase().includes(text) && !(subscriber.name ?? '').toLowerCase().includes(text)) {
      return false;
    }
  }
  return true;
}

/**
 * A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a tab or carriage return first) gets a leading
 * apostrophe, so opening the export never runs anything (CSV injection).
 */
export function neutraliseCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** The export's columns. */
export const EXPORT_COLUMNS = ['id', 'email', 'name', 'status', 'newsletters', 'created_at'] as const;

/**
 * Writes the chosen readers as CSV (`id,email,name,status,newsletters,created_at`); returns how many rows.
 * `onProgress` hears the records read so far after each page.
 */
export async function exportSubscribers(
  deps: ListSubscribersDeps,
  filter: SubscriberFilter,
  out: Writable,
  onProgress: (recordsRead: number) => void = () => {},
): Promise<number> {
  // A page at a time through csv-stringify's synchronous API: one call per page, not a stream write per row.
  let text = stringify([[...EXPORT_COLUMNS]]);
  let rows = 0;
  let read = 0;
  for await (const page of deps.subscribers.scan({ pageSize: 2000 })) {
    read += page.length;
    onProgress(read);
    const lines: string[][] = [];
    for (const subscriber of page) {
      if (!matchesFilter(subscriber, filter)) continue;
      lines.push([
        String(subscriber.id),
        neutraliseCell(subscriber.email),
        neutraliseCell(subscriber.name ?? ''),
        subscriber.status,
        subscriber.newsletters.join(';'),
        subscriber.createdAt,
      ]);
    }
    rows += lines.length;
    if (lines.length > 0) text += stringify(lines);
    if (!out.write(text)) await once(out, 'drain');
    text = '';
  }
  if (text !== '' && !out.write(text)) await once(out, 'drain');
  return rows;
}

/** One reader as `subscribers list` shows them (suppressed readers with why and since when). */
export type ListedSubscriber = Subscriber & { suppression?: Suppression };

/** The first `limit` readers matching the filter, in id order. */
export async function listSubscribers(
  deps: ListSubscribersDeps,
  filter: SubscriberFilter,
  limit: number,
): Promise<ListedSubscriber[]> {
  const found: ListedSubscriber[] = [];
  for await (const page of deps.subscribers.scan()) {
    for (const subscriber of page) {
      if (found.length >= limit) break;
      if (matchesFilter(subscriber, filter)) found.push(subscriber);
    }
    if (found.length >= limit) break;
  }
  for (const subscriber of found) {
    if (subscriber.status !== 'suppressed') continue;
    const suppression = await deps.subscribers.getSuppression(subscriber.email);
    if (suppression) subscriber.suppression = suppression;
  }
  return found;
}

/** How many readers there are in each status (of one newsletter, when named). */
export async function countSubscribers(
  deps: ListSubscribersDeps,
  filter: Pick<SubscriberFilter, 'newsletterId'>,
): Promise<Record<SubscriberStatus, number> & { total: number }> {
  const counts = { pending: 0, active: 0, unsubscribed: 0, suppressed: 0, total: 0 };
  for await (const page of deps.subscribers.scan({ pageSize: 2000 })) {
    for (const subscriber of page) {
      if (!matchesFilter(subscriber, filter)) continue;
      counts[subscriber.status] += 1;
      counts.total += 1;
    }
  }
  return counts;
}
