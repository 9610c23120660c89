/**
 * Unsubscribe by email: the `mailto:` of List-Unsubscribe (offered when `site.unsubscribeMailbox` is set) addresses
 * a mailbox the relay receives; its inbound side pipes each message to `letterpress subscribers unsubscribe-mail`,
 * which hands the message here. The reader's signed unsubscribe token travels in the Subject (`unsubscribe TOKEN`),
 * as the mailto URI put it there, so the request is as strong as the one-click link and needs no trust in From.
 */
import { unsubscribeByToken, type UnsubscribeByTokenDeps } from './unsubscribe-by-token.js';

/** Largest message read from stdin; an unsubscribe request is a few hundred bytes. */
export const MAX_UNSUBSCRIBE_MAIL_BYTES = 256 * 1024;

/** The Subject a `mailto:` unsubscribe carries: the word and the token, with anything a mail client adds around it. */
const SUBJECT_TOKEN = /(?:^|[\s:])unsubscribe\s+([A-Za-z0-9._-]{20,200})(?:\s|$)/i;

/** What came of one message: the reader left a newsletter, or the message held no valid token. */
export type UnsubscribeByMailOutcome =
  { kind: 'done'; subscriberId: number; newsletterId: string } | { kind: 'ignored'; reason: string };

/**
 * Reads one RFC 5322 message and unsubscribes the reader its Subject's token names. A message without a valid
 * token is ignored with the reason (never bounced: a forged request must not make us send mail to its From).
 */
export async function unsubscribeByMail(deps: UnsubscribeByTokenDeps, raw: Buffer): Promise<UnsubscribeByMailOutcome> {
  if (raw.length === 0) return { kind: 'ignored', reason: 'the message is empty' };
  if (raw.length > MAX_UNSUBSCRIBE_MAIL_BYTES) {
    return { kind: 'ignored', reason: `the message is over ${MAX_UNSUBSCRIBE_MAIL_BYTES / 1024} KB` };
  }
  // Loaded here, not at the top: every CLI command imports this module, and mailparser is heavy to start.
  const { simpleParser } = await import('mailparser');
  const message = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
  const token = SUBJECT_TOKEN.exec(message.subject ?? '')?.[1];
  if (!token) return { kind: 'ignored', reason: 'the subject holds no unsubscribe token' };
  const outcome = await unsubscribeByToken(deps, token);
  if (outcome.kind === 'invalid') return { kind: 'ignored', reason: 'the token is not valid' };
  return { kind: 'done', subscriberId: outcome.subscriberId, newsletterId: outcome.newsletterId };
}
