/**
 * What the privacy audit reports: findings of a fixed list of kinds, and the result stored with a digest. The kinds
 * are the audit's vocabulary everywhere: `digest send --allow-finding KIND`, the stored result, the editor's preview,
 * the README and the public privacy page.
 */
import { z } from 'zod';
import { ImagePolicySchema } from '../digests/digest.js';

/**
 * Every kind of finding, with what it means. All of them block a send unless allowed, except
 * `policy-remote-image`, which the newsletter's own `images: remote` policy allows.
 */
export const FINDING_KINDS = {
  'reader-difference':
    'two readers’ copies differ beyond their address, their personal links and the per-message headers (Date, Message-ID)',
  'personal-value':
    'a reader’s address, id or token appears somewhere other than the To header, List-Unsubscribe and the unsubscribe and preferences links',
  'remote-image':
    'an image loads from another server when the email is opened (src, srcset, background, poster, ...) and is not an article image the newsletter’s policy allows',
  'remote-css': 'a stylesheet or a CSS url() loads from another server (link, @import, background-image, ...)',
  'remote-font': 'a web font loads from another server (@font-face, a font service’s stylesheet)',
  'remote-content':
    'other remote or active content: script, iframe, object, embed, audio, video, link prefetch, meta refresh, base, a link’s ping',
  'hidden-image': 'an image that is hidden or one pixel in size: the shape of an open-tracking pixel',
  'redirect-link':
    'a link goes through a redirector or a URL shortener (bit.ly, t.co, a mailing platform’s click tracker), which learns who clicks',
  'tracking-parameter':
    'a link or resource carries a tracking parameter (utm_*, fbclid, mc_eid, ...: the list ingest removes)',
  'tracker-host': 'a link or resource is on a host of the shipped list of known trackers',
  'policy-remote-image':
    'an article image shown by its publisher’s URL, as the newsletter’s images: remote policy chooses: the same URL for every reader, fetched by the mail client when it shows images',
} as const;

/** A finding kind. */
export type FindingKind = keyof typeof FINDING_KINDS;

/** Every finding kind, in the documented order. */
export const FINDING_KIND_LIST = Object.keys(FINDING_KINDS) as FindingKind[];

/** A finding kind as accepted at a boundary (CLI flag, stored result). */
export const FindingKindSchema = z.enum(FINDING_KIND_LIST as [FindingKind, ...FindingKind[]]);

/** Kinds a newsletter's image policy allows without an editor's say. */
export const POLICY_ALLOWED_KINDS: ReadonlySet<FindingKind> = new Set<FindingKind>(['policy-remote-image']);

/** Where in the message a finding is. */
export const FindingPlaceSchema = z.enum(['headers', 'text', 'html', 'attachments']);
export type FindingPlace = z.infer<typeof FindingPlaceSchema>;

/** One thing the audit found. Never holds a reader's address or token: values are shown as placeholders. */
export const FindingSchema = z.object({
  kind: FindingKindSchema,
  place: FindingPlaceSchema,
  /** One line saying what and where, e.g. `<img src> loads https://…`. */
  detail: z.string(),
  /** The URL concerned, when there is one. */
  url: z.string().optional(),
  /** Whether it lets the send go ahead, and who allowed it: the newsletter's policy, or the editor at send time. */
  allowedBy: z.enum(['policy', 'editor']).optional(),
});
export type Finding = z.infer<typeof FindingSchema>;

/** The audit of one digest, as stored with it and shown to editors. */
export const AuditResultSchema = z.object({
  digestId: z.string(),
  auditedAt: z.string().datetime({ offset: true }),
  imagePolicy: ImagePolicySchema,
  findings: z.array(FindingSchema),
  /** Kinds the editor allowed for this send (`--allow-finding`). */
  allowedKinds: z.array(FindingKindSchema),
  /** Findings nobody allowed: the send is refused while this is above zero. */
  blocking: z.number().int().min(0),
  /** True when nothing blocks. */
  isPassed: z.boolean(),
});
export type AuditResult = z.infer<typeof AuditResultSchema>;
