/**
 * The verdict of a reliability scenario: compares what the relay accepted with who should have received the digest
 * and with what the digest's ledger says. Pure: the scenario gathers the facts, this counts and names every breach.
 */
import type { Digest } from '../../src/digests/digest.js';
import type { AcceptedMessage } from '../helpers/faulty-smtp.js';

/** The facts a scenario gathers once its digest has settled (or failed to). */
export interface DeliveryFacts {
  /** Subscribers active when the digest was fanned out. */
  recipients: { id: number; email: string }[];
  /** Lower-cased addresses removed (unsubscribed) while the send ran, after which they must get nothing. */
  removed: Set<string>;
  /**
   * Lower-cased addresses removed while their message was already at the relay: either outcome is right (one copy,
   * or skipped), but never two.
   */
  removedInFlight?: Set<string>;
  /** Lower-cased addresses the relay refuses permanently. */
  permanentlyRefused: Set<string>;
  /** Every acceptance the relay recorded during the scenario. */
  accepted: Pick<AcceptedMessage, 'messageId' | 'recipient' | 'acceptedAt' | 'wasStalled' | 'isReplyLost'>[];
  /** The digest as stored at the end. */
  digest: Digest | undefined;
  /** Subscriber ids the ledger marks as delivered, failed and skipped. */
  ledger: { sent: Set<number>; failed: Set<number>; skipped: Set<number> };
  /** Lower-cased addresses on the suppression list at the end. */
  suppressed: Set<string>;
  /**
   * When worker processes were SIGKILLed (ms since the epoch). A kill right after the relay accepted a message but
   * before the ledger recorded it makes the restarted batch send it again; so does a kill right after the worker
   * wrote a whole message, which the relay then reads and accepts from a connection whose client is already gone.
   * Such duplicates are counted apart.
   */
  killedAt?: number[];
}

/** How far (either side) an acceptance may be from a SIGKILL for the kill to explain a second copy. */
export const KILL_WINDOW_MS = 1_000;

/** One row of the chaos table, plus the breaches that make it a failure. */
export interface DeliveryAudit {
  /** Subscribers active at fan-out. */
  recipients: number;
  /** Deliverable recipients the relay accepted exactly once. */
  delivered: number;
  /** Deliverable recipients the relay accepted at least once (what the digest's `delivered` counter must say). */
  reached: number;
  /** Extra acceptances beyond the first, summed over recipients. */
  duplicates: number;
  /**
   * Of those, extras that follow an acceptance whose 250 never reached the client (stalled past its timeout, or the
   * connection closed first): the duplicate SMTP cannot rule out (RFC 1047).
   */
  duplicatesAfterLostReply: number;
  /** Of those, extras whose previous copy was accepted within `KILL_WINDOW_MS` of a worker being SIGKILLed. */
  duplicatesAtKill: number;
  /** Of those, the acceptances before (negative, ms) and after (positive) their kill that lie furthest from it. */
  killDistanceRangeMs: [number, number] | undefined;
  /** Deliverable recipients the relay never accepted. */
  lost: number;
  /** Recipients refused permanently and recorded as failed. */
  failed: number;
  /** Recipients removed during the send and recorded as skipped. */
  skipped: number;
  /** Every breach of the invariants, in words; empty when the scenario passed. */
  problems: string[];
}

/** Counts the outcome of a send and lists every way it breaks "once, and nobody missed". */
export function auditDelivery(facts: DeliveryFacts): DeliveryAudit {
  const problems: string[] = [];
  const byRecipient = new Map<
    string,
    Pick<AcceptedMessage, 'messageId' | 'acceptedAt' | 'wasStalled' | 'isReplyLost'>[]
  >();
  for (const record of facts.accepted) {
    const list = byRecipient.get(record.recipient) ?? [];
    list.push(record);
    byRecipient.set(record.recipient, list);
  }
  const recipientEmails = new Set(facts.recipients.map((r) => r.email.toLowerCase()));
  const strangers = [...byRecipient.keys()].filter((email) => !recipientEmails.has(email));
  if (strangers.length > 0)
    problems.push(`${strangers.length} message(s) went to addresses outside the recipient list`);

  let delivered = 0;
  let reached = 0;
  let refusedYetAccepted = 0;
  let duplicates = 0;
  let duplicatesAfterLostReply = 0;
  let duplicatesAtKill = 0;
  const unexplainedTimings: string[] = [];
  let killDistanceRangeMs: [number, number] | undefined;
  let lost = 0;
  let failed = 0;
  let skipped = 0;
  let removedButReceived = 0;
  let unstableIds = 0;
  let failedNotRecorded = 0;
  let failedNotSuppressed = 0;
  let deliveredNotRecorded = 0;
  let removedNotSettled = 0;
  const sample: Record<string, number[]> = {};
  const note = (kind: string, id: number) => {
    const list = (sample[kind] ??= []);
    if (list.length < 5) list.push(id);
  };

  for (const { id, email } of facts.recipients) {
    const address = email.toLowerCase();
    const copies = byRecipient.get(address) ?? [];
    if (new Set(copies.map((c) => c.messageId)).size > 1) {
      unstableIds++;
      note('unstable Message-ID', id);
    }
    if (facts.removed.has(address)) {
      if (copies.length > 0) {
        removedButReceived++;
        note('removed but received', id);
      } else if (facts.ledger.skipped.has(id)) {
        skipped++;
      } else if (!facts.ledger.failed.has(id) && !facts.ledger.sent.has(id)) {
        removedNotSettled++;
        note('removed, not settled', id);
      }
      continue;
    }
    if (facts.removedInFlight?.has(address)) {
      if (copies.length > 1) {
        duplicates += copies.length - 1;
        note('duplicate', id);
      }
      if (copies.length > 0) {
        reached++;
        if (copies.length === 1) delivered++;
      } else if (facts.ledger.skipped.has(id)) skipped++;
      else {
        removedNotSettled++;
        note('removed, not settled', id);
      }
      continue;
    }
    if (facts.permanentlyRefused.has(address)) {
      if (copies.length > 0) {
        refusedYetAccepted++;
        note('refused yet accepted', id);
      }
      if (facts.ledger.failed.has(id)) failed++;
      else {
        failedNotRecorded++;
        note('refused, not recorded as failed', id);
      }
      if (!facts.suppressed.has(address)) {
        failedNotSuppressed++;
        note('refused, not suppressed', id);
      }
      continue;
    }
    if (copies.length === 0) {
      lost++;
      note('lost', id);
      continue;
    }
    reached++;
    if (copies.length === 1) delivered++;
    if (!facts.ledger.sent.has(id)) {
      deliveredNotRecorded++;
      note('accepted, not recorded as sent', id);
    }
    if (copies.length > 1) {
      duplicates += copies.length - 1;
      // Each extra copy is explained by what happened to the copy before it.
      for (let index = 1; index < copies.length; index++) {
        const previous = copies[index - 1];
        if (!previous) continue;
        const nearestKill = facts.killedAt?.reduce<number | undefined>((nearest, at) => {
          const distance = previous.acceptedAt - at;
          return nearest === undefined || Math.abs(distance) < Math.abs(nearest) ? distance : nearest;
        }, undefined);
        if (previous.wasStalled || previous.isReplyLost) duplicatesAfterLostReply++;
        else if (nearestKill !== undefined && Math.abs(nearestKill) <= KILL_WINDOW_MS) {
          duplicatesAtKill++;
          killDistanceRangeMs = [
            Math.min(killDistanceRangeMs?.[0] ?? 0, nearestKill),
            Math.max(killDistanceRangeMs?.[1] ?? 0, nearestKill),
          ];
        } else {
          note('duplicate', id);
          if (unexplainedTimings.length < 5) {
            const gap = ((copies[index]?.acceptedAt ?? 0) - previous.acceptedAt) / 1000;
            const kill =
              nearestKill === undefined ? '' : `, nearest kill ${(-nearestKill / 1000).toFixed(1)} s after it`;
            unexplainedTimings.push(`id ${id}: copies ${gap.toFixed(1)} s apart${kill}`);
          }
        }
      }
    }
  }

  if (lost > 0) problems.push(`${lost} deliverable recipient(s) got nothing`);
  const unexplained = duplicates - duplicatesAfterLostReply - duplicatesAtKill;
  if (unexplained > 0) {
    problems.push(
      `${unexplained} duplicate(s) not explained by a lost relay reply or a kill next to an acceptance ` +
        `(${unexplainedTimings.join('; ')})`,
    );
  }
  if (refusedYetAccepted > 0) problems.push(`${refusedYetAccepted} permanently refused address(es) were accepted too`);
  if (unstableIds > 0) problems.push(`${unstableIds} recipient(s) got copies with different Message-IDs`);
  if (removedButReceived > 0) problems.push(`${removedButReceived} removed subscriber(s) still got the digest`);
  if (removedNotSettled > 0) problems.push(`${removedNotSettled} removed subscriber(s) are not settled in the ledger`);
  if (failedNotRecorded > 0) problems.push(`${failedNotRecorded} permanent refusal(s) not recorded as failed`);
  if (failedNotSuppressed > 0) problems.push(`${failedNotSuppressed} permanently refused address(es) not suppressed`);
  if (deliveredNotRecorded > 0)
    problems.push(`${deliveredNotRecorded} accepted recipient(s) not marked sent in the ledger`);

  const digest = facts.digest;
  if (!digest) problems.push('the digest is gone');
  else {
    if (digest.status !== 'sent') problems.push(`the digest is "${digest.status}", not "sent"`);
    const c = digest.counts;
    if (c.recipients !== facts.recipients.length) {
      problems.push(`the digest counts ${c.recipients} recipients; ${facts.recipients.length} were active at fan-out`);
    }
    if (c.delivered + c.failed + c.skipped !== c.recipients) {
      problems.push(
        `delivered ${c.delivered} + failed ${c.failed} + skipped ${c.skipped} != recipients ${c.recipients}`,
      );
    }
    if (c.delivered !== reached)
      problems.push(`the digest counts ${c.delivered} delivered; the relay reached ${reached}`);
    if (c.failed !== failed + failedNotRecorded) {
      problems.push(`the digest counts ${c.failed} failed; the relay refused ${failed + failedNotRecorded}`);
    }
    if (c.failed !== facts.ledger.failed.size || c.delivered !== facts.ledger.sent.size) {
      problems.push('the digest counters disagree with the ledger bitmaps');
    }
  }
  if (problems.length > 0 && Object.keys(sample).length > 0) {
    problems.push(
      `examples (subscriber ids): ${Object.entries(sample)
        .map(([kind, ids]) => `${kind} ${ids.join(',')}`)
        .join('; ')}`,
    );
  }
  return {
    recipients: facts.recipients.length,
    delivered,
    reached,
    duplicates,
    duplicatesAfterLostReply,
    duplicatesAtKill,
    killDistanceRangeMs,
    lost,
    failed,
    skipped,
    problems,
  };
}
