/**
 * How the relays sign their webhooks, checked before a byte of the report is used: SendGrid signs
 * `<timestamp><raw body>` with ECDSA P-256 (the verification key is in its mail settings), Mailgun puts an
 * HMAC-SHA256 of `<timestamp><token>` in the body, and Amazon SNS signs its messages with RSA (see `sns-message.ts`).
 * Postmark does not sign; its webhook URL carries HTTP Basic credentials instead (see the routes).
 */
import { createHmac, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';

/** A SendGrid verification key as its settings page shows it (base64 DER) or as PEM. */
export function readSendGridKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.includes('BEGIN PUBLIC KEY')) return createPublicKey(trimmed);
  return createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' });
}

/** Whether a SendGrid signature (base64 DER ECDSA) is right for the timestamp and raw body. */
export function isSendGridSignatureValid(
  key: KeyObject,
  rawBody: Buffer,
  signature: string | undefined,
  timestamp: string | undefined,
): boolean {
  if (!signature || !timestamp || !/^\d{1,12}$/.test(timestamp) || signature.length > 200) return false;
  try {
    return verify(
      'sha256',
      Buffer.concat([Buffer.from(timestamp, 'utf8'), rawBody]),
      { key, dsaEncoding: 'der' },
      Buffer.from(signature, 'base64'),
    );
  } catch {
    return false;
  }
}

/** Whether a Mailgun signature (hex HMAC-SHA256 of timestamp + token with the signing key) is right. */
export function isMailgunSignatureValid(
  signingKey: string,
  signature: { timestamp: string; token: string; signature: string },
): boolean {
  const expected = createHmac('sha256', signingKey).update(`${signature.timestamp}${signature.token}`).digest();
  const given = Buffer.from(signature.signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Whether a unix-seconds timestamp is within `toleranceSeconds` of now. */
export function isFresh(timestamp: string | number, now: Date, toleranceSeconds: number): boolean {
  const seconds = Number(timestamp);
  return Number.isFinite(seconds) && Math.abs(now.getTime() / 1000 - seconds) <= toleranceSeconds;
}
