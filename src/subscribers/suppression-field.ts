/**
 * The suppression list's key for an address: HMAC-SHA256 of the lower-cased address under the dedicated suppression
 * key (LETTERPRESS_SUPPRESSION_KEY), so the list works without holding any address, and an erased reader who bounced
 * or complained stays suppressed. The key never rotates: a new key would match none of the hashes already stored.
 */
import { createHmac } from 'node:crypto';

/** The keyed hash of an already lower-cased address, in base64url (43 characters). */
export function suppressionField(suppressionKey: string, normalisedEmail: string): string {
  return createHmac('sha256', suppressionKey).update(`suppression:${normalisedEmail}`).digest('base64url');
}
