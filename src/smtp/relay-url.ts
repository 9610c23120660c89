/**
 * The relay as `SMTP_URL` names it, read the way nodemailer reads it: `smtp://[user:pass@]host[:port]` (STARTTLS when
 * offered) or `smtps://...` (TLS from the first byte), with nodemailer's query options where they apply
 * (`secure=true`, `requireTLS=true`, `ignoreTLS=true`, `tls.rejectUnauthorized=false`, `name=<EHLO name>`). Parsed
 * and checked once at start; every message names the URL's part, never the URL (it may hold a password).
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/** Where and how to reach the relay. */
export interface RelayTarget {
  host: string;
  port: number;
  /** smtps:// or `secure=true`: TLS from the first byte. */
  isImplicitTls: boolean;
  /** On smtp://: STARTTLS whenever the relay offers it, insisted on (`requireTLS=true`), or never (`ignoreTLS=true`). */
  startTls: 'when-offered' | 'required' | 'never';
  /** False only with `tls.rejectUnauthorized=false` (a test relay with a self-signed certificate). */
  rejectUnauthorized: boolean;
  /** The TLS server name (SNI): the host, unless it is an address literal. */
  servername: string | undefined;
  /** The URL's user and password, when it has a user. */
  credentials: { user: string; password: string } | undefined;
  /** The EHLO name from `?name=`, checked and in ASCII form. */
  heloName: string | undefined;
}

/** An invalid relay URL; the message names the part and never repeats the URL. */
export class RelayUrlError extends Error {
  override readonly name = 'RelayUrlError';
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const ADDRESS_LITERAL = /^\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]$/;

/**
 * Checks an EHLO name and returns its ASCII form: a domain of at least two labels (a bare host name such as
 * `mailer` is what RFC 5321 §4.1.4 rules out; Unicode labels become punycode) or an address literal (`[192.0.2.1]`,
 * `[IPv6:2001:db8::1]`). Throws a RelayUrlError naming the rule otherwise, a line break included.
 */
export function checkHeloName(value: string): string {
  if (/[\r\n]/.test(value)) throw new RelayUrlError('the EHLO name must not contain a line break');
  const literal = ADDRESS_LITERAL.exec(value);
  if (literal) {
    const address = literal[1] ?? '';
    const isV6 = value.startsWith('[IPv6:');
    if ((isV6 && isIP(address) === 6) || (!isV6 && isIP(address) === 4)) return value;
    throw new RelayUrlError(`the EHLO name ${JSON.stringify(value)} is not a valid address literal`);
  }
  const ascii = /^[\x21-\x7e\u0080-\uffff]+$/.test(value) ? domainToASCII(value).toLowerCase() : '';
  const labels = ascii.split('.');
  if (ascii.length > 253 || labels.length < 2 || !labels.every((label) => LABEL.test(label))) {
    throw new RelayUrlError(
      `the EHLO name ${JSON.stringify(value)} must be a domain such as mail.example.org (not a bare host name) ` +
        'or an address literal such as [192.0.2.1]',
    );
  }
  return ascii;
}

/** Parses a relay URL; throws a RelayUrlError naming what is wrong. */
export function parseRelayUrl(url: string): RelayTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RelayUrlError('not a URL');
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') {
    throw new RelayUrlError(`the scheme must be smtp:// or smtps://, not ${parsed.protocol}//`);
  }
  const query = parsed.searchParams;
  const isImplicitTls = parsed.protocol === 'smtps:' || query.get('secure') === 'true';
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (host === '') throw new RelayUrlError('the host is missing');
  const requiresTls = query.get('requireTLS') === 'true';
  const name = query.get('name');
  const user = decodeURIComponent(parsed.username);
  return {
    host,
    port: Number(parsed.port) || (isImplicitTls ? 465 : 587),
    isImplicitTls,
    // requireTLS wins over ignoreTLS, as in nodemailer: a contradiction never falls back to clear text.
    startTls: requiresTls ? 'required' : query.get('ignoreTLS') === 'true' ? 'never' : 'when-offered',
    rejectUnauthorized: query.get('tls.rejectUnauthorized') !== 'false',
    servername: isIP(host) === 0 ? host : undefined,
    credentials: user ? { user, password: decodeURIComponent(parsed.password) } : undefined,
    heloName: name === null ? undefined : checkHeloName(name),
  };
}

/**
 * What is wrong with a relay URL before anything connects, as `SMTP_URL: ...` lines: an unparsable URL, a bad EHLO
 * name, or a password that could only travel in clear text (`ignoreTLS=true` on smtp:// with a user) unless plain-text
 * login is allowed.
 */
export function relayUrlProblems(url: string, options: { allowPlaintextAuth: boolean }): string[] {
  let target: RelayTarget;
  try {
    target = parseRelayUrl(url);
  } catch (error) {
    return [`SMTP_URL: ${(error as Error).message}`];
  }
  if (target.credentials && !target.isImplicitTls && target.startTls === 'never' && !options.allowPlaintextAuth) {
    return [
      'SMTP_URL: ignoreTLS=true with a user and password would send the password in clear text; use smtps:// or ' +
        'STARTTLS, or set SMTP_ALLOW_PLAINTEXT_AUTH=true for a relay on this host',
    ];
  }
  return [];
}
