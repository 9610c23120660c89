/** The Digest: a newsletter issue, from draft to sent, and its frozen render. */
import { z } from 'zod';

/** Lifecycle of a digest: draft → (scheduled) → ready → sending ⇄ paused → sent; or cancelled before it is sent. */
export const DigestStatus = {
  /** Being composed: articles, note, subject and letter can change; nothing is rendered for good yet. */
  draft: 'draft',
  /** Frozen and waiting for its time (`scheduledFor`); unscheduling makes it a draft again. */
  scheduled: 'scheduled',
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

/** Every status, in lifecycle order. */
export const DIGEST_STATUSES = Object.values(DigestStatus) as [DigestStatus, ...DigestStatus[]];

/** Statuses in which a digest is still unsent and its content may change (by an editor, or by an unpublish). */
export const UNSENT_STATUSES: readonly DigestStatus[] = ['draft', 'scheduled', 'ready'];

/** Statuses in which a digest has gone out, at least to some readers: these are public in the archive. */
export const PUBLISHED_STATUSES: readonly DigestStatus[] = ['sending', 'paused', 'sent'];

/** What a digest is: the newsletter's issue of new articles, or a letter from the newsroom (with articles or none). */
export const DigestKind = {
  digest: 'digest',
  letter: 'letter',
} as const;
export type DigestKind = (typeof DigestKind)[keyof typeof DigestKind];

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
  /** A digest or a letter; absent on digests made before letters existed, which are digests. */
  kind: z.enum(['digest', 'letter']).optional(),
  status: z.enum(DIGEST_STATUSES),
  subject: z.string(),
  articleIds: z.array(z.string()),
  /** Counts every change to a draft (absent: 0); an edit made on an older revision is refused, not merged. */
  revision: z.number().int().min(0).optional(),
  /** Who made it: an editor's name, `schedule`, or `cli`. */
  createdBy: z.string().optional(),
  /** Who last changed the draft, or froze it for sending or scheduling. */
  updatedBy: z.string().optional(),
  /** When a scheduled digest goes out. */
  scheduledFor: z.string().datetime({ offset: true }).optional(),
  /** When the body was rendered for good. */
  frozenAt: z.string().datetime({ offset: true }).optional(),
  /** Bytes of the frozen HTML part as a reader receives it. */
  htmlBytes: z.number().int().min(0).optional(),
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

/** A letter: a longer piece from the newsroom, written in Markdown and signed by its editor. */
export const LetterSchema = z.object({
  title: z.string().trim().min(1, 'a letter needs a title').max(200),
  /** Markdown. */
  body: z.string().max(100_000),
  /** The editor who signs it (their `EDITOR_TOKENS` name, or a display name given with it). */
  author: z.string().trim().min(1).max(120),
});
export type Letter = z.infer<typeof LetterSchema>;

/** What an editor writes around the articles: kept in Redis beside the digest, editable while it is a draft. */
export const DigestCompositionSchema = z.object({
  /** The editor's note above the articles, in Markdown (sanitized when rendered). @defaultValue '' */
  note: z.string().max(20_000).default(''),
  /** Replaces the composed subject line. */
  subject: z.string().trim().min(1).max(200).optional(),
  /** Replaces the composed preheader. */
  preheader: z.string().trim().min(1).max(200).optional(),
  /** Present for a letter. */
  letter: LetterSchema.optional(),
  /** Articles an editor added by hand: these may repeat an article an earlier digest carried. @defaultValue [] */
  pinnedArticleIds: z.array(z.string()).default([]),
});
export type DigestComposition = z.infer<typeof DigestCompositionSchema>;

/** An article left out when the digest was frozen, and why (shown to the editor). */
export const OmittedArticleSchema = z.object({
  articleId: z.string(),
  title: z.string(),
  reason: z.string(),
});
export type OmittedArticle = z.infer<typeof OmittedArticleSchema>;

/** One article as the web version shows it, copied at freeze so later edits or removals cannot change an issue. */
export const WebArticleSchema = z.object({
  id: z.string(),
  title: z.string(),
  url: z.string().nullable(),
  byline: z.string().nullable(),
  publishedLabel: z.string(),
  publishedIso: z.string(),
  standfirst: z.string().nullable(),
  /** Whether the email left it out to stay under its size budget (the web version has it). */
  isOnlyOnWeb: z.boolean(),
});

/** The frozen web version of a digest (the archive page and feed), with no personal link and no remote resource. */
export const DigestWebSchema = z.object({
  subject: z.string(),
  preheader: z.string(),
  newsletterName: z.string(),
  issueDateIso: z.string(),
  issueDateLabel: z.string(),
  lang: z.string(),
  /** Sanitized HTML of the editor's note, or null. */
  noteHtml: z.string().nullable(),
  letter: z.object({ title: z.string(), html: z.string(), author: z.string() }).nullable(),
  sections: z.array(z.object({ name: z.string(), articles: z.array(WebArticleSchema) })),
  /** Articles the freeze left out of the email, with the reasons. */
  omitted: z.array(OmittedArticleSchema),
});
export type DigestWeb = z.infer<typeof DigestWebSchema>;
