/**
 * A relay probe for `/readyz`, the metrics and `letterpress doctor`: opens one session the way the mailer does
 * (greeting, EHLO, STARTTLS when offered or required, AUTH when the URL has a user), says QUIT, and reports what it
 * found. Nothing is sent. The relay is named by host and port only; credentials never appear in the report.
 */
import { relayLabel } from './relay-label.js';
import { sessionSettings } from './raw-smtp-mailer.js';
import { SmtpSendError, SmtpSession } from './smtp-session.js';

/** What the probe found. */
export interface RelayProbe {
  /** `host:port`. */
  relay: string;
  /** True when the session opened (and, with a user in the URL, the login was accepted). */
  isReachable: boolean;
  greeting?: string;
  extensions: string[];
  /** How the session was encrypted. */
  tls: 'implicit' | 'starttls' | 'none';
  /** The mechanisms the relay offers after TLS, e.g. `PLAIN LOGIN`. */
  authMechanisms: string[];
  hasCredentials: boolean;
  isAuthenticated: boolean;
  /** Why it failed: nodemailer's error codes (ECONNECTION, ETIMEDOUT, ETLS, EAUTH, EPROTOCOL). */
  failure?: { code: string; message: string };
  /** Milliseconds the probe took. */
  elapsedMs: number;
}

/** Probes the relay at `url` within `timeoutMs` per step, opening the session as the mailer would. */
export async function probeSmtpRelay(
  url: string,
  options: { timeoutMs: number; heloName?: string; allowPlaintextAuth?: boolean },
): Promise<RelayProbe> {
  const started = performance.now();
  const target = new URL(url);
  let session: SmtpSession | undefined;
  let failure: RelayProbe['failure'];
  try {
    if (target.protocol !== 'smtp:' && target.protocol !== 'smtps:') {
      throw new SmtpSendError(`unsupported relay URL scheme ${target.protocol}`, 'EPROTOCOL');
    }
    session = new SmtpSession(
      sessionSettings({
        url,
        poolSize: 1,
        connectTimeoutMs: options.timeoutMs,
        commandTimeoutMs: options.timeoutMs,
        heloName: options.heloName,
        allowPlaintextAuth: options.allowPlaintextAuth,
      }),
    );
    await session.open();
  } catch (error) {
    const code = error instanceof SmtpSendError ? error.code : 'ECONNECTION';
    failure = { code, message: (error as Error).message.replaceAll(target.password || '\u0000', '***') };
  } finally {
    await session?.close();
  }
  const facts = session?.facts ?? { greeting: '', extensions: [], tls: 'none' as const, isAuthenticated: false };
  const auth = facts.extensions.find((extension) => /^AUTH\b/i.test(extension));
  return {
    relay: relayLabel(url),
    isReachable: failure === undefined,
    ...(facts.greeting ? { greeting: facts.greeting.split('\n')[0] } : {}),
    extensions: facts.extensions,
    tls: facts.tls,
    authMechanisms: auth ? auth.split(/\s+/).slice(1) : [],
    hasCredentials: target.username !== '',
    isAuthenticated: facts.isAuthenticated,
    ...(failure ? { failure } : {}),
    elapsedMs: Math.round(performance.now() - started),
  };
}

/** Probes every relay of a list at once (see `probeSmtpRelay`), in the list's order. */
export function probeSmtpRelays(
  urls: readonly string[],
  options: { timeoutMs: number; heloName?: string; allowPlaintextAuth?: boolean },
): Promise<RelayProbe[]> {
  return Promise.all(urls.map((url) => probeSmtpRelay(url, options)));
}
