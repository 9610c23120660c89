/** The Subscriber: a reader's address and which newsletters they take. */
import { domainToASCII } from 'node:url';
import { z } from 'zod';

/** Lifecycle of a subscriber. */
export const SubscriberStatus = {
  /** Signed up, confirmation not yet clicked. Receives nothing but the confirmation email. */
  pending: 'pending',
  /** Confirmed (or imported as confirmed): receives the newsletters they take. */
  active: 'active',
  /** Left. Receives nothing. */
  unsubscribed: 'unsubscribed',
  /** The address bounced permanently or complained. Receives nothing. */
  suppressed: 'suppressed',
} as const;
export type SubscriberStatus = (typeof SubscriberStatus)[keyof typeof SubscriberStatus];

/** Longest local part, in octets (RFC 5321 §4.5.3.1.1). */
const MAX_LOCAL_PART_OCTETS = 64;
/** Longest address in its ASCII form (a 256-octet path minus the angle brackets). */
const MAX_ADDRESS_OCTETS = 254;
const ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
/** A dot-atom of RFC 5322 atext: what an unquoted ASCII local part may be. */
const LOCAL_PART = new RegExp(`^${ATOM}(?:\\.${ATOM})*$`);
/** One label of a domain in ASCII form (punycode labels included). */
const DOMAIN_LABEL = new RegExp(`^${LABEL}$`);
/** The common case, recognised by one regular expression: a dot-atom, one @, an ASCII domain of two labels or more. */
const ASCII_ADDRESS = new RegExp(`^${ATOM}(?:\\.${ATOM})*@${LABEL}(?:\\.${LABEL})+$`);

/**
 * What is wrong with an address, or its form for the SMTP envelope and the To header: the local part as written, the
 * domain in ASCII (a Unicode domain as punycode, IDNA). The one place addresses are judged: line breaks and other
 * control characters, a local part over 64 octets or outside plain ASCII (digests are never sent as SMTPUTF8), a
 * domain that is not one.
 */
export function checkEmail(value: string): { ok: true; ascii: string } | { ok: false; reason: string } {
  if (value.length <= MAX_ADDRESS_OCTETS && ASCII_ADDRESS.test(value) && value.indexOf('@') <= MAX_LOCAL_PART_OCTETS) {
    return { ok: true, ascii: value };
  }
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (/[\u0000-\u001f\u007f]/.test(value))
    return { ok: false, reason: 'must not contain line breaks or control characters' };
  const at = value.lastIndexOf('@');
  if (at < 1 || at === value.length - 1) return { ok: false, reason: 'must be an email address' };
  const local = value.slice(0, at);
  if (Buffer.byteLength(local) > MAX_LOCAL_PART_OCTETS) {
    return { ok: false, reason: `the part before the at sign must be at most ${MAX_LOCAL_PART_OCTETS} octets` };
  }
  if (!LOCAL_PART.test(local)) {
    return {
      ok: false,
      reason: 'the part before the at sign must be plain ASCII letters, digits, dots and the usual signs',
    };
  }
  const domain = domainToASCII(value.slice(at + 1));
  const labels = domain.split('.');
  if (domain === '' || labels.length < 2 || !labels.every((label) => DOMAIN_LABEL.test(label))) {
    return { ok: false, reason: 'the part after the at sign must be a domain name' };
  }
  const ascii = `${local}@${domain}`;
  if (ascii.length > MAX_ADDRESS_OCTETS)
    return { ok: false, reason: `must be at most ${MAX_ADDRESS_OCTETS} characters` };
  return { ok: true, ascii };
}

/**
 * An email address as accepted at every boundary (forms, CSV, CLI, the stored record): trimmed and checked by
 * `checkEmail`; the spelling is kept as given (a Unicode domain stays Unicode; `envelopeAddress` writes it for SMTP).
 */
export const EmailSchema = z
  .string()
  .trim()
  .superRefine((value, context) => {
    const checked = checkEmail(value);
    if (!checked.ok) context.addIssue({ code: 'custom', message: checked.reason });
  });

/** The address as SMTP carries it (see `checkEmail`); throws with the reason when it cannot be. */
export function envelopeAddress(email: string): string {
  const checked = checkEmail(email);
  if (!checked.ok) throw new Error(checked.reason);
  return checked.ascii;
}

/**
 * The form in which addresses are indexed and suppressed: trimmed and lower-cased, a Unicode domain in its ASCII form,
 * so `Leser@Bücher.example` and `leser@xn--bcher-kva.example` are one reader.
 */
export function normaliseEmail(email: string): string {
  const trimmed = email.trim();
  const checked = checkEmail(trimmed);
  return (checked.ok ? checked.ascii : trimmed).toLowerCase();
}

/** A reader's name as given on import or by hand: one line, no control characters. */
export const SubscriberNameSchema = z
  .string()
  .trim()
  .max(200, 'must be at most 200 characters')
  // eslint-disable-next-line no-control-regex -- control characters (CR, LF, NUL, ...) are what is refused here
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'must be one line without control characters');

/** A stored subscriber. `id` is a positive integer handed out in order, so ids page and index bitmaps. */
export const SubscriberSchema = z.object({
  id: z.number().int().positive(),
  /**
   * As stored: `EmailSchema` judged it when it came in. Not judged again on the way out, so a record an older, more
   * lenient version stored (a local part over 64 octets) can still be read and removed; its own message fails alone.
   */
  email: z.string().min(1),
  /** The reader's name, when an import or an editor gave one. */
  name: z.string().optional(),
  status: z.enum(['pending', 'active', 'unsubscribed', 'suppressed']),
  /** Newsletters the reader takes (while pending: the ones they asked for). */
  newsletters: z.array(z.string()),
  /** Newsletters the reader left; only a confirmed opt-in takes them back. */
  left: z.array(z.string()).default([]),
  /** When the reader left their last newsletter (status `unsubscribed`). */
  leftAt: z.string().datetime({ offset: true }).optional(),
  /** Newsletters an active or unsubscribed reader asked for and has not confirmed yet. */
  requested: z.array(z.string()).default([]),
  /** When the sign-up awaiting confirmation was asked for (its link expires from then). */
  requestedAt: z.string().datetime({ offset: true }).optional(),
  createdAt: z.string().datetime({ offset: true }),
  updatedAt: z.string().datetime({ offset: true }),
});
export type Subscriber = z.infer<typeof SubscriberSchema>;
