/**
 * The one place that decides what an SMTP reply (or a transport error) means for a recipient: delivered, try again
 * later, the mailbox is gone, or the relay refuses for another reason.
 */

/** What a reply means for the recipient and for the digest. */
export const SmtpReplyKind = {
  /** Accepted by the relay. */
  ok: 'ok',
  /** 4xx, timeouts, refused or dropped connections: the recipient stays pending and is tried again later. */
  transient: 'transient',
  /** The mailbox does not exist or is disabled (5.1.x, 5.2.1, 550 "user unknown"): fail and suppress the address. */
  permanentMailbox: 'permanent-mailbox',
  /** Any other permanent refusal (policy, content, size): fail without suppressing; a run pauses the digest. */
  permanentOther: 'permanent-other',
  /**
   * The relay refused the session itself, before any reader was named: the greeting, EHLO/HELO, STARTTLS or the TLS
   * handshake, the login (or no safe way to log in), our sender at MAIL FROM, "530 must issue STARTTLS / authenticate",
   * "relaying denied". Nobody is failed: the digest pauses with the reason until the relay is fixed and it is resumed.
   */
  relayRefused: 'relay-refused',
} as const;
export type SmtpReplyKind = (typeof SmtpReplyKind)[keyof typeof SmtpReplyKind];

/** The classification of one reply. */
export interface SmtpReplyClass {
  kind: SmtpReplyKind;
  /** Basic SMTP reply code, e.g. 550. */
  code?: number;
  /** RFC 3463 enhanced status code, e.g. `5.1.1`. */
  enhancedCode?: string;
  /** The reply text (or error message) with any email address replaced by `[address]`: safe to log and store. */
  message: string;
  /**
   * True when the relay itself could not be used (connection refused, dropped or timed out, DNS, 421, a temporary
   * refusal of the session, or a `relay-refused`): nobody was refused, so the delivery waits for the relay (or the
   * operator) instead of spending its attempts.
   */
  isRelayUnavailable: boolean;
}

/** Transport error codes (nodemailer's and Node's) that mean "the relay could not be reached or used right now". */
const RELAY_UNAVAILABLE_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'EPROXY',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Reply texts that, without an enhanced code, mean the mailbox does not exist. */
const UNKNOWN_MAILBOX_TEXT =
  /user unknown|unknown user|no such (user|mailbox|recipient)|mailbox (unavailable|not found|does not exist)|does not exist|recipient (address )?rejected|invalid recipient|unknown recipient|account (is )?disabled|no mailbox/i;

/** Reply texts that point at policy rather than the mailbox, even when they also mention it. */
const POLICY_TEXT =
  /spam|policy|block|blacklist|denylist|reputation|rate limit|too many|relay(ing)? (denied|not permitted)|authentication|dmarc|spf|dkim/i;

/** Steps of setting the session up, as both mailers name them in an error's `command`. */
const SESSION_COMMAND = /^(?:CONN|EHLO|HELO|LHLO|STARTTLS|AUTH\b)/;

/** Node's codes for a failed TLS handshake (certificate, protocol). */
const TLS_FAILURE = /CERT|SELF_SIGNED|SSL|TLS/;

/** A refusal to relay for us: about our login or address, never about the reader. */
const RELAY_DENIED_TEXT = /relay(?:ing)? (?:access )?(?:denied|not permitted)/i;

const ENHANCED_CODE = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;
const EMAIL_LIKE = /<?[^\s<>@"']+@[^\s<>"']+>?/g;

/**
 * Classifies a send result: a nodemailer info object (accepted) or any thrown value (an SMTP refusal carries
 * `responseCode` and `response`; a transport failure carries `code`). Unknown errors count as transient, so a bug
 * or an odd relay never fails a reader for good.
 */
export function classifySmtpReply(errorOrInfo: unknown): SmtpReplyClass {
  const value = (typeof errorOrInfo === 'object' && errorOrInfo !== null ? errorOrInfo : {}) as Record<string, unknown>;
  const isError = errorOrInfo instanceof Error;
  const response = typeof value.response === 'string' ? value.response : undefined;
  const responseCode = typeof value.responseCode === 'number' ? value.responseCode : undefined;
  // nodemailer reports a TLS failure (an expired or untrusted certificate) as ESOCKET with the TLS code kept apart.
  const originalCode = typeof value.originalCode === 'string' ? value.originalCode : '';
  const transportCode = TLS_FAILURE.test(originalCode)
    ? 'ETLS'
    : typeof value.code === 'string'
      ? value.code
      : undefined;
  const command = typeof value.command === 'string' ? value.command.toUpperCase() : undefined;
  const text = redactAddresses(
    (response ?? (isError ? (errorOrInfo as Error).message : undefined) ?? String(errorOrInfo)).trim(),
  ).slice(0, 300);
  const code = responseCode ?? (response ? leadingCode(response) : undefined);
  const enhancedCode = response ? ENHANCED_CODE.exec(response)?.[0] : undefined;

  if (!isError) {
    // A send result: ok when the relay accepted the recipient (or answered 2xx without listing recipients).
    const accepted = Array.isArray(value.accepted) ? value.accepted : [];
    const rejected = Array.isArray(value.rejected) ? value.rejected : [];
    const isAccepted = accepted.length > 0 || (rejected.length === 0 && code !== undefined && code < 300);
    if (isAccepted) return { kind: 'ok', code: code ?? 250, enhancedCode, message: text, isRelayUnavailable: false };
    // Refused recipients reported in a result rather than thrown: the first refusal says why.
    const firstRefusal = Array.isArray(value.rejectedErrors) ? (value.rejectedErrors[0] as unknown) : undefined;
    if (firstRefusal instanceof Error) return classifySmtpReply(firstRefusal);
    return { kind: 'transient', code, enhancedCode, message: text || 'no reply', isRelayUnavailable: false };
  }

  const isSessionStep = command !== undefined && (SESSION_COMMAND.test(command) || command === 'MAIL FROM');
  if (isRelayRefusal(code, transportCode, isSessionStep, text)) {
    // The error's own message names the step ("the relay refused the login: 535 ..."): it becomes the pause reason.
    const message = redactAddresses((errorOrInfo as Error).message.trim()).slice(0, 300);
    return { kind: 'relay-refused', code, enhancedCode, message, isRelayUnavailable: true };
  }
  if (code === undefined) {
    const isRelayUnavailable = transportCode !== undefined && RELAY_UNAVAILABLE_CODES.has(transportCode);
    const message = transportCode && !text.includes(transportCode) ? `${transportCode}: ${text}` : text;
    return { kind: 'transient', message, isRelayUnavailable };
  }
  const base = { code, enhancedCode, message: text };
  // An error is never a delivery, whatever code it carries: a 2xx here is a reply out of step with its command.
  if (code < 400) return { ...base, kind: 'transient', message: `out of sequence: ${text}`, isRelayUnavailable: true };
  if (code < 500) return { ...base, kind: 'transient', isRelayUnavailable: code === 421 || isSessionStep };
  return { ...base, kind: permanentKind(code, enhancedCode, text), isRelayUnavailable: false };
}

/** Whether a failure refuses the session itself rather than a reader (see `SmtpReplyKind.relayRefused`). */
function isRelayRefusal(
  code: number | undefined,
  transportCode: string | undefined,
  isSessionStep: boolean,
  text: string,
): boolean {
  if (code !== undefined && code < 500) return false;
  // Login refused or impossible without clear text; STARTTLS refused, missing although required, or TLS untrusted.
  if (transportCode === 'EAUTH' || transportCode === 'ENOAUTH' || transportCode === 'ETLS') return true;
  if (code === undefined) return false;
  return code === 530 || isSessionStep || RELAY_DENIED_TEXT.test(text);
}

function permanentKind(code: number, enhancedCode: string | undefined, text: string): SmtpReplyKind {
  if (enhancedCode?.startsWith('5.')) {
    const [, subject, detail] = enhancedCode.split('.');
    // 5.1.x is about the recipient's address, except 5.1.7 and 5.1.8 which are about our sender address.
    if (subject === '1' && detail !== '7' && detail !== '8') return 'permanent-mailbox';
    if (subject === '2' && detail === '1') return 'permanent-mailbox';
    return 'permanent-other';
  }
  if ((code === 550 || code === 551 || code === 553) && UNKNOWN_MAILBOX_TEXT.test(text) && !POLICY_TEXT.test(text)) {
    return 'permanent-mailbox';
  }
  return 'permanent-other';
}

function leadingCode(response: string): number | undefined {
  const match = /^([2-5]\d\d)\b/.exec(response.trim());
  return match ? Number(match[1]) : undefined;
}

/** Replaces anything that looks like an email address, so replies can be logged and stored. */
export function redactAddresses(text: string): string {
  return text.replace(EMAIL_LIKE, '[address]');
}
