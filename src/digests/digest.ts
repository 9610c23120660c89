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

/** How a newsletter's article images reach the reader (see `NewsletterSchema.images`). */
export const ImagePolicySchema = z.enum(['remote', 'embedded', 'none']);
export type ImagePolicy = z.infer<typeof ImagePolicySchema>;

/** An image frozen with a digest and attached to its message as a `cid:` part (the `embedded` policy). */
export const InlineImageSchema = z.object({
  /** The Content-ID without angle brackets; the HTML refers to it as `cid:<cid>`. The same for every reader. */
  cid: z.string().regex(/^[A-Za-z0-9._-]{1,64}@[A-Za-z0-9.-]{1,253}$/),
  /** SHA-256 of the bytes (hex): the key of the stored image and its public path `/images/<sha256>.<ext>`. */
  sha256: z.string().regex(/^[a-f0-9]{64}$/),
  contentType: z.enum(['image/jpeg', 'image/png']),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  bytes: z.number().int().positive(),
  /** Where it was fetched from, for editors; the message never carries it. */
  sourceUrl: z.string(),
});
export type InlineImage = z.infer<typeof InlineImageSchema>;

/** An article image a digest left out, and why (it could not be fetched, decoded or made to fit the budget). */
export const OmittedImageSchema = z.object({ sourceUrl: z.string(), reason: z.string() });
export type OmittedImage = z.infer<typeof OmittedImageSchema>;

/** The images of a frozen digest, as the newsletter's policy made them. */
export const DigestImagesSchema = z.object({
  policy: ImagePolicySchema,
  /** Article images shown by their publisher's URL (`remote`): the same URL for every reader. */
  remote: z.array(z.string()),
  /** Images attached to the message (`embedded`), in the order the HTML first shows them. */
  inline: z.array(InlineImageSchema),
  omitted: z.array(OmittedImageSchema),
});
export type DigestImages = z.infer<typeof DigestImagesSchema>;

/** The frozen render of a digest: MJML compiled once, text written from the same data. */
export const DigestBodySchema = z.object({
  subject: z.string().min(1),
  /** Hidden preview line shown by mail clients after the subject. */
  preheader: z.string(),
  html: SlottedTextSchema,
  text: SlottedTextSchema,
  /** The images and how they travel; absent in bodies frozen before image policies existed. */
  images: DigestImagesSchema.optional(),
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
