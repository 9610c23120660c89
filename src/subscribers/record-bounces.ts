/**
 * Bounces and complaints reported after the SMTP session, by a relay's webhook or by hand: a hard bounce or a
 * complaint suppresses the address for every newsletter at once; soft bounces suppress it once they reach the
 * configured count within the window. Reasons are stored without any address in them.
 */
import type { Logger } from '../logger.js';
import { redactAddresses } from '../smtp/classify-smtp-reply.js';

/** One reported event, from whichever source, already parsed. */
export interface BounceEvent {
  email: string;
  type: 'hard' | 'soft' | 'complaint';
  /** What the relay said (may quote the address; it is removed before storing). */
  reason: string;
  /** The provider's own id of the event, so a retried report counts once. */
  eventId: string;
  /** Where it came from: `webhook`, `ses`, `sendgrid`, `mailgun`, `postmark`, `cli`. */
  source: string;
}

/** What recording bounces needs. */
export interface RecordBouncesDeps {
  subscribers: {
    suppress(email: string, reason: string): Promise<unknown>;
    recordSoftBounce(email: string, eventId: string, windowMs: number): Promise<number>;
  };
  /** Soft bounces within the window that suppress an address. */
  softLimit: number;
  softWindowMs: number;
  logger: Logger;
}

/** What the events did. */
export interface RecordBouncesResult {
  /** Addresses suppressed by these events (hard bounces, complaints, soft bounces over the limit). */
  suppressed: number;
  /** Soft bounces counted without reaching the limit. */
  softCounted: number;
}

/** Applies the events in order (see the module comment). */
export async function recordBounces(deps: RecordBouncesDeps, events: BounceEvent[]): Promise<RecordBouncesResult> {
  const result: RecordBouncesResult = { suppressed: 0, softCounted: 0 };
  for (const event of events) {
    const reason = redactAddresses(event.reason).replace(/\s+/g, ' ').trim().slice(0, 300);
    if (event.type === 'soft') {
      const count = await deps.subscribers.recordSoftBounce(
        event.email,
        `${event.source}:${event.eventId}`,
        deps.softWindowMs,
      );
      if (count < deps.softLimit) {
        result.softCounted += 1;
        continue;
      }
      const days = Math.round(deps.softWindowMs / 86_400_000);
      await deps.subscribers.suppress(
        event.email,
        `${count} soft bounces within ${days} days (${event.source}); last: ${reason || 'no reason given'}`,
      );
    } else {
      const what = event.type === 'hard' ? 'hard bounce' : 'complaint';
      await deps.subscribers.suppress(event.email, `${what} (${event.source})${reason ? `: ${reason}` : ''}`);
    }
    result.suppressed += 1;
  }
  deps.logger.info({ events: events.length, ...result }, 'bounce report recorded');
  return result;
}
