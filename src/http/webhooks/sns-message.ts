/**
 * Amazon SNS messages (how SES reports bounces and complaints over HTTPS): the message, its signature check and the
 * certificate it names. The certificate is fetched only from `https://sns.<region>.amazonaws.com/...pem` and kept in
 * memory; a message is accepted only when its RSA signature (SHA1 for SignatureVersion 1, SHA256 for 2) over the
 * documented fields verifies, and only from the topics configured (BOUNCES_SES_TOPIC_ARNS), since anyone can create
 * a topic and point it here.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { AppError, formatZodIssues } from '../../errors.js';

/** The fields of an SNS message that matter here. */
export const SnsMessageSchema = z.object({
  Type: z.enum(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']),
  MessageId: z.string().min(1).max(200),
  TopicArn: z.string().min(1).max(300),
  Message: z.string().max(256 * 1024),
  Timestamp: z.string().datetime({ offset: true }),
  SignatureVersion: z.enum(['1', '2']),
  Signature: z.string().min(1).max(2048),
  SigningCertURL: z.string().url(),
  Subject: z.string().optional(),
  Token: z.string().optional(),
  SubscribeURL: z.string().url().optional(),
});
export type SnsMessage = z.infer<typeof SnsMessageSchema>;

/** Parses an SNS message body, naming the field that is wrong. */
export function parseSnsMessage(value: unknown): SnsMessage {
  const parsed = SnsMessageSchema.safeParse(value);
  if (!parsed.success) throw new AppError('input_invalid', `SNS message: ${formatZodIssues(parsed.error)}`);
  return parsed.data;
}

const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

/** True for `https://sns.<region>.amazonaws.com/...` (no user, no other port): the only place SNS URLs may point. */
export function isSnsUrl(text: string, options: { pathSuffix?: string } = {}): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return (
    url.protocol === 'https:' &&
    SNS_HOST.test(url.hostname) &&
    url.port === '' &&
    url.username === '' &&
    url.password === '' &&
    (options.pathSuffix === undefined || url.pathname.endsWith(options.pathSuffix))
  );
}

/** The text SNS signs: the documented fields in order, each as `Name\nValue\n`. */
export function snsStringToSign(message: SnsMessage): string {
  const names =
    message.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  let text = '';
  for (const name of names) {
    const value = message[name as keyof SnsMessage];
    if (value === undefined) continue;
    text += `${name}\n${value}\n`;
  }
  return text;
}

/** Whether the message's signature verifies with the key. */
export function isSnsSignatureValid(message: SnsMessage, key: KeyObject): boolean {
  try {
    return verify(
      message.SignatureVersion === '1' ? 'sha1' : 'sha256',
      Buffer.from(snsStringToSign(message), 'utf8'),
      key,
      Buffer.from(message.Signature, 'base64'),
    );
  } catch {
    return false;
  }
}

/** Fetches a text from an SNS URL (the signing certificate, a subscription confirmation). */
export type SnsFetch = (url: string) => Promise<string>;

/** Largest certificate or confirmation answer read. */
const MAX_SNS_RESPONSE_BYTES = 64 * 1024;

/** The real fetch: https to an SNS host only, five seconds, 64 KB at most. */
export const fetchFromSns: SnsFetch = async (url) => {
  if (!isSnsUrl(url))
    throw new AppError('input_invalid', 'SNS message: refers to a URL outside sns.<region>.amazonaws.com');
  const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new AppError('upstream_unavailable', `SNS answered ${response.status}`);
  const text = await response.text();
  if (text.length > MAX_SNS_RESPONSE_BYTES) throw new AppError('input_invalid', 'SNS answer too large');
  return text;
};

/** Where signing keys come from: a trusted test certificate, or the certificate URL (cached per URL). */
export function createSnsKeySource(options: {
  testCertificate?: string;
  fetchText: SnsFetch;
}): (certUrl: string) => Promise<KeyObject> {
  const testKey = options.testCertificate ? createPublicKey(options.testCertificate) : undefined;
  const cache = new Map<string, Promise<KeyObject>>();
  return (certUrl) => {
    if (!isSnsUrl(certUrl, { pathSuffix: '.pem' })) {
      return Promise.reject(
        new AppError('unauthorized', 'SNS message: SigningCertURL is not an sns.<region>.amazonaws.com certificate'),
      );
    }
    if (testKey) return Promise.resolve(testKey);
    let key = cache.get(certUrl);
    if (!key) {
      key = options.fetchText(certUrl).then((pem) => createPublicKey(pem));
      key.catch(() => cache.delete(certUrl));
      if (cache.size > 20) cache.clear();
      cache.set(certUrl, key);
    }
    return key;
  };
}
