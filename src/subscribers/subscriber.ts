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

/** A stored subscriber. `id` is a positive integer handed out in order, so ids page and index bitmaps. */
export const SubscriberSchema = z.object({
  id: z.number().int().positive(),
  email: EmailSchema,
  status: z.enum(['pending', 'active', 'unsubscribed', 'suppressed']),
  newsletters: z.array(z.string()),
  createdAt: z.string().datetime({ offset: true }),
  updatedAt: z.string().datetime({ offset: true }),
});
export type Subscriber = z.infer<typeof SubscriberSchema>;
