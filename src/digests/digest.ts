/** The Digest: a newsletter issue, from draft to sent, and its frozen render. */
import { z } from 'zod';

/** Lifecycle of a digest. */
export const DigestStatus = {
  /** Rendered and frozen; not yet sent. */
  ready: 'ready',
  /** Fan-out started or done; deliveries in progress. */
  sending: 'sending',
  /** Stopped by a run of permanent relay refusals (see `pausedReason`); `digest resume` continues. */
  paused: 'paused',
  /** Every recipient settled (delivered, failed or skipped). */
  sent: 'sent',
  /** Withdrawn by an editor; pending deliveries complete quietly without sending. */
  cancelled: 'cancelled',
} as const;
export type DigestStatus = (typeof DigestStatus)[keyof typeof DigestStatus];

/** The names of the recipient slots left open in the frozen render. */
export const RecipientSlot = {
  /** The recipient's personal one-click unsubscribe URL (https, HMAC-signed token). */
  unsubscribeUrl: 'unsubscribeUrl',
  /** The recipient's personal preferences URL. */
  preferencesUrl: 'preferencesUrl',
} as const;
export type RecipientSlot = (typeof RecipientSlot)[keyof typeof RecipientSlot];

/**
 * Text with open recipient slots: literal segments alternate with slot names, starting and ending with a literal.
 * `['Hi ', 'unsubscribeUrl', ' bye']` is `Hi {unsubscribeUrl} bye`.
 */
export const SlottedTextSchema = z.array(z.string());
export type SlottedText = z.infer<typeof SlottedTextSchema>;

/** The frozen render of a digest: MJML compiled once, text written from the same data. */
export const DigestBodySchema = z.object({
  subject: z.string().min(1),
  /** Hidden preview line shown by mail clients after the subject. */
  preheader: z.string(),
  html: SlottedTextSchema,
  text: SlottedTextSchema,
});
export type DigestBody = z.infer<typeof DigestBodySchema>;

/** Counters of a digest's deliveries. */
export const DigestCountsSchema = z.object({
  recipients: z.number().int().min(0),
  delivered: z.number().int().min(0),
  failed: z.number().int().min(0),
  skipped: z.number().int().min(0),
});
export type DigestCounts = z.infer<typeof DigestCountsSchema>;

/** A digest's metadata and state. */
export const DigestSchema = z.object({
  /** `${newsletterId}-${YYYYMMDD-HHmmss}-${4 base36}`; newsletter ids may contain `_`, so it is allowed here too. */
  id: z.string().regex(/^[a-z0-9_-]{6,80}$/),
  newsletterId: z.string(),
  status: z.enum(['ready', 'sending', 'paused', 'sent', 'cancelled']),
  subject: z.string(),
  articleIds: z.array(z.string()),
  /** Articles published after this time were eligible. */
  since: z.string().datetime({ offset: true }).optional(),
  createdAt: z.string().datetime({ offset: true }),
  sendRequestedAt: z.string().datetime({ offset: true }).optional(),
  fannedOutAt: z.string().datetime({ offset: true }).optional(),
  sentAt: z.string().datetime({ offset: true }).optional(),
  pausedReason: z.string().optional(),
  counts: DigestCountsSchema,
});
export type Digest = z.infer<typeof DigestSchema>;
