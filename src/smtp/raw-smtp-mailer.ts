/**
 * A small pooled SMTP client for pre-built messages: the fast path of a large send. The message is already complete
 * (headers, MIME, quoted-printable, CRLF line ends), so the client only speaks the protocol (`smtp-session.ts`): one
 * pipelined `MAIL FROM` + `RCPT TO` + `DATA` per message, then the bytes, dot-stuffed with native `Buffer.indexOf`
 * and written as slices (no per-byte loop, no copy of the message).
 *
 * The pool keeps up to `poolSize` connections, each for at most `maxMessagesPerConnection` transactions, and closes
 * one that stays idle for `idleTimeoutMs` (as nodemailer's pool does). Until a connection has opened, it opens one
 * at a time, so a relay that refuses the login sees one attempt, not one per queued message; and a refusal of the
 * session itself (see `classifySmtpReply`: greeting, EHLO, TLS, login) fails every message waiting with it. DKIM
 * signing is not done here: `createMailerFromConfig` wraps this mailer in `createDkimSigningMailer` when a key is
 * configured.
 */
import { classifySmtpReply } from './classify-smtp-reply.js';
import type { ClosableMailer, SendResult } from './mailer.js';
import { parseRelayUrl } from './relay-url.js';
import { SmtpSendError, SmtpSession, type SessionSettings } from './smtp-session.js';

export { SmtpSendError } from './smtp-session.js';

/** Options of the raw SMTP mailer. */
export interface RawSmtpMailerOptions {
  /** The relay URL (see `relay-url.ts`): smtp:// or smtps://, user and password, nodemailer's query options. */
  url: string;
  /** Connections kept open at most. */
  poolSize: number;
  /** Connecting, the TLS handshake and the greeting. @defaultValue 30000 */
  connectTimeoutMs?: number;
  /** The reply to each command (EHLO, STARTTLS, AUTH, MAIL FROM, RCPT TO, DATA, RSET). @defaultValue 30000 */
  commandTimeoutMs?: number;
  /** The reply to the final dot, the message's bytes included (RFC 5321 §4.5.3.2). @defaultValue 600000 */
  finalDotTimeoutMs?: number;
  /** Transactions one connection carries before it is closed and replaced. @defaultValue 1000 */
  maxMessagesPerConnection?: number;
  /** A connection idle this long is closed (QUIT). @defaultValue 30000 */
  idleTimeoutMs?: number;
  /** Allow the password without TLS. @defaultValue false */
  allowPlaintextAuth?: boolean;
  /**
   * The EHLO name when the URL has no `?name=`: the sender's domain, checked by `checkHeloName`. @defaultValue the
   * address literal of this end of each connection
   */
  heloName?: string;
  /**
   * When a connection cannot be opened while none is open, fail every waiting message with it at once instead of
   * trying one connection per message: right for one relay of several (see `relay-pool.ts`), whose messages then go
   * to the others. @defaultValue false
   */
  failWaitingWhenUnreachable?: boolean;
}

/** A raw mailer: a closable mailer that counts its connections and knows which failures came before any message. */
export interface RawSmtpMailer extends ClosableMailer {
  /** Connections open or opening. */
  connectionCount(): number;
  /** True for a failure that came before the message was handed to the relay (its session could not be opened). */
  isUnsent(error: unknown): boolean;
}

/** The defaults of the options above, in one place (the config reads its own from the environment). */
export const RAW_SMTP_DEFAULTS = {
  connectTimeoutMs: 30_000,
  commandTimeoutMs: 30_000,
  finalDotTimeoutMs: 600_000,
  maxMessagesPerConnection: 1_000,
  idleTimeoutMs: 30_000,
} as const;

interface Outgoing {
  envelope: { from: string; to: string };
  /** The message whole, or its chunks. */
  message: Buffer | readonly Buffer[];
  resolve: (result: SendResult) => void;
  reject: (error: Error) => void;
}

/** The settings of every session of a mailer with these options (the relay probe opens one the same way). */
export function sessionSettings(options: RawSmtpMailerOptions): SessionSettings {
  const target = parseRelayUrl(options.url);
  return {
    target,
    heloName: target.heloName ?? options.heloName,
    connectTimeoutMs: options.connectTimeoutMs ?? RAW_SMTP_DEFAULTS.connectTimeoutMs,
    commandTimeoutMs: options.commandTimeoutMs ?? RAW_SMTP_DEFAULTS.commandTimeoutMs,
    finalDotTimeoutMs: options.finalDotTimeoutMs ?? RAW_SMTP_DEFAULTS.finalDotTimeoutMs,
    allowPlaintextAuth: options.allowPlaintextAuth ?? false,
  };
}

/** The connections of one mailer and the messages waiting for one (see the module comment). */
class SessionPool {
  /** Failures that came before the message was written: the session did not open, or the pool was closed. */
  readonly unsent = new WeakSet<object>();
  private readonly idle: SmtpSession[] = [];
  private readonly idleTimers = new Map<SmtpSession, NodeJS.Timeout>();
  /** Every open session, idle or busy. */
  private readonly sessions = new Set<SmtpSession>();
  private readonly queue: Outgoing[] = [];
  private opening = 0;
  private isClosed = false;

  constructor(
    private readonly settings: SessionSettings,
    private readonly poolSize: number,
    private readonly maxMessages: number,
    private readonly idleTimeoutMs: number,
    private readonly failWaitingWhenUnreachable: boolean,
  ) {}

  /** Connections open or opening. */
  get connectionCount(): number {
    return this.sessions.size + this.opening;
  }

  send(outgoing: Outgoing): void {
    if (this.isClosed)
      return outgoing.reject(this.markUnsent(new SmtpSendError('the mailer is closed', 'ECONNECTION')));
    this.queue.push(outgoing);
    this.pump();
  }

  async close(): Promise<void> {
    this.isClosed = true;
    for (const outgoing of this.queue.splice(0))
      outgoing.reject(this.markUnsent(new SmtpSendError('the mailer is closed', 'ECONNECTION')));
    await Promise.all([...this.idle].map((session) => this.retire(session)));
  }

  /** Hands waiting messages to idle sessions, and opens sessions for the rest while the pool has room. */
  private pump(): void {
    while (this.queue.length > 0) {
      const session = this.idle.pop();
      if (session) {
        clearTimeout(this.idleTimers.get(session));
        this.idleTimers.delete(session);
        this.run(session, this.queue.shift() as Outgoing);
        continue;
      }
      // Until one connection is open, open one at a time; then up to poolSize.
      const limit = this.sessions.size === 0 ? 1 : this.poolSize;
      if (this.sessions.size + this.opening >= limit) return;
      this.open(this.queue.shift() as Outgoing);
    }
  }

  /** Opens a session for the message at the head of the queue; if it fails, that message fails with it. */
  private open(first: Outgoing): void {
    const fresh = new SmtpSession(this.settings);
    // The relay may close (or speak) while the session waits in the idle list: drop it there and then.
    fresh.onBrokenWhileIdle = () => {
      if (this.idle.includes(fresh)) void this.retire(fresh);
    };
    this.opening += 1;
    fresh.open().then(
      () => {
        this.opening -= 1;
        this.sessions.add(fresh);
        this.run(fresh, first);
      },
      (error: unknown) => {
        this.opening -= 1;
        void fresh.close();
        first.reject(this.markUnsent(error as Error));
        // A refusal of the session itself would meet every message waiting: fail them with it now. So would a relay
        // that cannot be reached, when the messages have somewhere else to go.
        const reply = classifySmtpReply(error);
        const isUnreachable = this.failWaitingWhenUnreachable && reply.isRelayUnavailable && this.sessions.size === 0;
        if (reply.kind === 'relay-refused' || isUnreachable) {
          for (const outgoing of this.queue.splice(0)) outgoing.reject(error as Error);
        }
        this.pump();
      },
    );
  }

  private markUnsent(error: Error): Error {
    this.unsent.add(error);
    return error;
  }

  private run(session: SmtpSession, outgoing: Outgoing): void {
    session.send(outgoing.envelope, outgoing.message).then(
      (result) => {
        outgoing.resolve(result);
        this.release(session);
      },
      (error: unknown) => {
        outgoing.reject(error as Error);
        this.release(session);
      },
    );
  }

  /** Back to the idle list (closed after idleTimeoutMs there), or closed when broken, worn out or the pool closed. */
  private release(session: SmtpSession): void {
    if (session.isBroken || this.isClosed || session.transactions >= this.maxMessages) void this.retire(session);
    else {
      this.idle.push(session);
      const timer = setTimeout(() => void this.retire(session), this.idleTimeoutMs);
      timer.unref();
      this.idleTimers.set(session, timer);
    }
    this.pump();
  }

  private retire(session: SmtpSession): Promise<void> {
    clearTimeout(this.idleTimers.get(session));
    this.idleTimers.delete(session);
    const at = this.idle.indexOf(session);
    if (at !== -1) this.idle.splice(at, 1);
    this.sessions.delete(session);
    return session.close();
  }
}

/**
 * Creates the pooled raw mailer (see the module comment). A message waits for a free connection; a connection that
 * fails to open takes the message it was opened for down with it (the error says why).
 */
export function createRawSmtpMailer(options: RawSmtpMailerOptions): RawSmtpMailer {
  const pool = new SessionPool(
    sessionSettings(options),
    options.poolSize,
    options.maxMessagesPerConnection ?? RAW_SMTP_DEFAULTS.maxMessagesPerConnection,
    options.idleTimeoutMs ?? RAW_SMTP_DEFAULTS.idleTimeoutMs,
    options.failWaitingWhenUnreachable ?? false,
  );
  return {
    send(message) {
      return new Promise<SendResult>((resolve, reject) => {
        // Chunks when the caller has them: reading `raw` could join (copy) the whole message.
        pool.send({ envelope: message.envelope, message: message.chunks ?? message.raw, resolve, reject });
      });
    },
    close: () => pool.close(),
    connectionCount: () => pool.connectionCount,
    isUnsent: (error) => typeof error === 'object' && error !== null && pool.unsent.has(error),
  };
}
