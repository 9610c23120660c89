/** The Subscriber: a reader's address and which newsletters they take. */
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

/** An email address as accepted at every boundary: trimmed, at most 254 characters, one @. */
export const EmailSchema = z
  .string()
  .trim()
  .max(254, 'must be at most 254 characters')
  .email('must be an email address');

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
  email: EmailSchema,
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
