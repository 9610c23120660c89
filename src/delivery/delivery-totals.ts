/**
 * The installation's delivery totals, the source of `letterpress_deliveries_total{outcome,reply_class}`. The ledger
 * counts each recorded outcome in the same atomic step that records it (so the totals equal the ledgers of every
 * digest exactly, however many workers on however many hosts recorded them); transient refusals, which leave the
 * reader pending, are counted by the workers as `retried`.
 */
import { SmtpReplyKind } from '../smtp/classify-smtp-reply.js';
import type { DeliveryOutcome } from './delivery-ledger.js';

/** The `outcome` label: the ledger's outcomes, with a failed mailbox (the address is suppressed) apart, plus retries. */
export const DeliveryMetricOutcome = {
  delivered: 'delivered',
  /** Refused for good for another reason than the mailbox (policy, content), or given up after the last attempt. */
  failed: 'failed',
  /** Refused for good because the mailbox does not exist: failed in the ledger, and the address suppressed. */
  suppressed: 'suppressed',
  /** Left before their message went out (unsubscribed, suppressed, removed). */
  skipped: 'skipped',
  /** A transient refusal: the reader stays pending and is tried again (counted per attempt, not per reader). */
  retried: 'retried',
} as const;
export type DeliveryMetricOutcome = (typeof DeliveryMetricOutcome)[keyof typeof DeliveryMetricOutcome];

/** The `reply_class` label: what the relay answered (`none` when nothing was sent, e.g. a skipped reader). */
export type DeliveryReplyClass = SmtpReplyKind | 'none';

/** One series of the totals. */
export interface DeliveryTotal {
  outcome: DeliveryMetricOutcome;
  replyClass: DeliveryReplyClass;
  count: number;
}

const OUTCOMES = new Set<string>(Object.values(DeliveryMetricOutcome));
const REPLY_CLASSES = new Set<string>([...Object.values(SmtpReplyKind), 'none']);

/** The totals hash field a recorded outcome counts in: `<metric outcome>|<reply class>`. */
export function deliveryTotalsField(outcome: DeliveryOutcome | 'retried', replyClass: DeliveryReplyClass): string {
  const metricOutcome = outcome === 'failed' && replyClass === 'permanent-mailbox' ? 'suppressed' : outcome;
  return `${metricOutcome}|${replyClass}`;
}

/** Reads the totals hash into series; fields that are not ours are ignored. */
export function parseDeliveryTotals(hash: Record<string, string>): DeliveryTotal[] {
  const totals: DeliveryTotal[] = [];
  for (const [field, value] of Object.entries(hash)) {
    const [outcome = '', replyClass = ''] = field.split('|');
    const count = Number(value);
    if (!OUTCOMES.has(outcome) || !REPLY_CLASSES.has(replyClass) || !Number.isFinite(count)) continue;
    totals.push({
      outcome: outcome as DeliveryMetricOutcome,
      replyClass: replyClass as DeliveryReplyClass,
      count,
    });
  }
  return totals.sort((a, b) => `${a.outcome}|${a.replyClass}`.localeCompare(`${b.outcome}|${b.replyClass}`));
}
