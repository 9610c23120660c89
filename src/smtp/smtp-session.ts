/**
 * One SMTP session of the built-in client, used by one message at a time: connect, greeting, EHLO (HELO when EHLO is
 * refused), STARTTLS, AUTH, then one transaction per message (`MAIL FROM` + `RCPT TO` + `DATA`, pipelined when the
 * relay offers PIPELINING), as nodemailer's smtp-connection and Postfix's smtp client do it:
 *
 * - every wait has its own limit: connecting, the TLS handshake and the greeting share `connectTimeoutMs`, each
 *   command's reply gets `commandTimeoutMs`, and the reply to the final dot `finalDotTimeoutMs` (RFC 5321 §4.5.3.2
 *   suggests ten minutes: giving up earlier on a relay that accepted turns its late 250 into a second copy);
 * - whatever arrived in clear text before the TLS handshake is discarded (RFC 3207 §6), so nothing injected there
 *   can be read as a reply over TLS;
 * - a byte that arrives while nothing was asked (an unsolicited 421 while idle, or anything else) ends the session,
 *   so no reply is ever matched with the wrong command; a reply longer than `MAX_REPLY_BYTES` ends it too;
 * - the password goes out only over TLS unless `allowPlaintextAuth`, and only with a mechanism the relay lists
 *   (PLAIN, else LOGIN);
 * - when RSET fails after a refusal, the refusal is what the caller sees (the session is just not reused).
 *
 * Errors carry nodemailer's shape (`code`, `responseCode`, `response`, `command`), so `classifySmtpReply` reads both
 * mailers alike: a refusal before `RCPT TO` is the relay's, never a reader's.
 */
import { connect as connectTcp, isIPv6, type Socket } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { dotStuffedSlices, END_OF_DATA } from './dot-stuffing.js';
import type { SendResult } from './mailer.js';
import type { RelayTarget } from './relay-url.js';

/** The longest reply accepted (all its lines); RFC 5321 allows 512 octets a line, EHLO answers a few dozen lines. */
export const MAX_REPLY_BYTES = 64 * 1024;

/** How one session talks to the relay. */
export interface SessionSettings {
  target: RelayTarget;
  /** The EHLO name; undefined: the address literal of this end of the connection. */
  heloName: string | undefined;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  finalDotTimeoutMs: number;
  /** Send the password without TLS (a relay on the same host). */
  allowPlaintextAuth: boolean;
}

/** An SMTP refusal or a transport failure, shaped like nodemailer's errors. */
export class SmtpSendError extends Error {
  override readonly name = 'SmtpSendError';
  constructor(
    message: string,
    /** ECONNECTION, ETIMEDOUT, ESOCKET, ETLS, EAUTH, EENVELOPE, EMESSAGE, EPROTOCOL. */
    readonly code: string,
    readonly responseCode?: number,
    readonly response?: string,
    /** The step that failed, as nodemailer names it: CONN, EHLO, HELO, STARTTLS, AUTH PLAIN, MAIL FROM, RCPT TO, DATA. */
    readonly command?: string,
  ) {
    super(message);
  }
}

interface Reply {
  code: number;
  /** The reply lines as received, joined with a line feed (codes included), e.g. `250 2.0.0 OK`. */
  text: string;
  lines: string[];
}

interface Waiter {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
  /** 0: bounded elsewhere (the connect phase). */
  timeoutMs: number;
  command: string;
  /** The reply to STARTTLS: nothing after it in clear text is read. */
  isLastPlaintext?: boolean;
}

const ENVELOPE_ADDRESS = /^[^\s<>]*$/;
const REPLY_LINE = /^[2-5]\d\d(?:[ -]|$)/;

/** Splits a complete reply out of the receive buffer; undefined when more bytes are needed, null when malformed. */
function takeReply(buffer: { text: string }): Reply | undefined | null {
  let offset = 0;
  const lines: string[] = [];
  for (;;) {
    const end = buffer.text.indexOf('\n', offset);
    if (end === -1) return undefined;
    const line = buffer.text.slice(offset, end).replace(/\r$/, '');
    if (!REPLY_LINE.test(line)) return null;
    offset = end + 1;
    lines.push(line);
    // "250-..." continues a multiline reply, "250 ..." (or a bare "250") ends it.
    if (line[3] !== '-') {
      buffer.text = buffer.text.slice(offset);
      return { code: Number(line.slice(0, 3)), text: lines.join('\n'), lines };
    }
  }
}

function refusal(reply: Reply, code: string, command: string, what: string): SmtpSendError {
  return new SmtpSendError(`${what}: ${reply.text}`, code, reply.code, reply.text, command);
}

/** What a session learned while opening: the relay probe (`probe-relay.ts`) reports it. */
export interface SessionFacts {
  /** The greeting, as the relay sent it. */
  greeting: string;
  /** EHLO keywords with their parameters after TLS, e.g. `PIPELINING`, `AUTH PLAIN LOGIN`. */
  extensions: string[];
  tls: 'implicit' | 'starttls' | 'none';
  isAuthenticated: boolean;
}

/** One SMTP session (see the module comment). */
export class SmtpSession {
  private socket: Socket | TLSSocket | undefined;
  private stopReading: (() => void) | undefined;
  private readonly received = { text: '' };
  private readonly waiting: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private failure: SmtpSendError | undefined;
  private supportsPipelining = false;
  private isSecure = false;
  /** True once the relay said goodbye, the socket closed or a protocol step failed: never reuse. */
  isBroken = false;
  /** Transactions started on this connection. */
  transactions = 0;
  /** Called when the session breaks while no command waits (the pool then drops it from its idle list). */
  onBrokenWhileIdle: (() => void) | undefined;
  /** Filled in by `open()`, step by step (a failed open leaves what it got so far). */
  readonly facts: SessionFacts = { greeting: '', extensions: [], tls: 'none', isAuthenticated: false };

  constructor(private readonly settings: SessionSettings) {}

  /** Connects, reads the greeting, EHLO, STARTTLS when offered (or required), AUTH when the URL has a user. */
  async open(): Promise<void> {
    const target = this.settings.target;
    const { host, port, servername, rejectUnauthorized } = target;
    const socket = target.isImplicitTls
      ? connectTls({ host, port, servername, rejectUnauthorized })
      : connectTcp({ host, port });
    this.attach(socket);
    this.isSecure = target.isImplicitTls;
    if (target.isImplicitTls) this.facts.tls = 'implicit';
    // Asked for before the socket connects, so a greeting that comes with the handshake's last bytes is expected.
    const greeting = this.readReply(this.settings.connectTimeoutMs, 'CONN');
    greeting.catch(() => undefined);
    await this.waitForConnect(socket, target.isImplicitTls ? 'secureConnect' : 'connect');
    const reply = await greeting;
    this.facts.greeting = reply.text;
    if (reply.code !== 220) throw refusal(reply, 'EPROTOCOL', 'CONN', 'the relay refused the connection');
    let capabilities = await this.hello();
    if (!this.isSecure && target.startTls !== 'never') {
      if (capabilities.has('STARTTLS')) {
        capabilities = await this.upgradeToTls();
        this.facts.tls = 'starttls';
      } else if (target.startTls === 'required') {
        throw new SmtpSendError(
          'the relay does not offer STARTTLS (requireTLS=true)',
          'ETLS',
          undefined,
          undefined,
          'STARTTLS',
        );
      }
    }
    if (target.credentials) {
      await this.logIn(target.credentials, capabilities);
      this.facts.isAuthenticated = true;
    }
  }

  /** Sends one message; resolves only when the relay answered the final dot with a 2xx, else throws an SmtpSendError. */
  async send(envelope: { from: string; to: string }, message: Buffer | readonly Buffer[]): Promise<SendResult> {
    if (!ENVELOPE_ADDRESS.test(envelope.from) || !ENVELOPE_ADDRESS.test(envelope.to) || envelope.to === '') {
      throw new SmtpSendError('the envelope holds an address SMTP cannot carry', 'EENVELOPE');
    }
    this.transactions += 1;
    const [mailReply, rcptReply, dataReply] = await this.openTransaction(envelope);
    const isSenderAccepted = mailReply.code === 250;
    if (!isSenderAccepted || (rcptReply.code !== 250 && rcptReply.code !== 251)) {
      // A relay that opened DATA although it refused the envelope: end the empty message first.
      if (dataReply?.code === 354) await this.endEmptyData();
      return this.abandon(
        isSenderAccepted
          ? refusal(rcptReply, 'EENVELOPE', 'RCPT TO', 'recipient refused')
          : refusal(mailReply, 'EENVELOPE', 'MAIL FROM', 'the relay refused the sender'),
      );
    }
    if (dataReply === undefined || dataReply.code !== 354) {
      const reply = dataReply ?? rcptReply;
      if (reply.code < 400) {
        // A 2xx where 354 belongs: the replies are out of step with the commands. Nothing was sent; never reuse.
        this.isBroken = true;
        throw refusal(reply, 'EPROTOCOL', 'DATA', 'the relay answered DATA out of sequence');
      }
      return this.abandon(refusal(reply, 'EMESSAGE', 'DATA', 'DATA refused'));
    }
    const socket = this.liveSocket();
    socket.cork();
    for (const slice of dotStuffedSlices(message)) socket.write(slice);
    socket.uncork();
    const final = await this.readReply(this.settings.finalDotTimeoutMs, 'DATA');
    if (final.code < 200 || final.code >= 300) {
      if (final.code === 421) this.isBroken = true;
      throw refusal(final, 'EMESSAGE', 'DATA', 'message refused');
    }
    return { response: final.text, accepted: [envelope.to], rejected: [] };
  }

  /** Says QUIT (when the session is usable) and closes the socket. */
  async close(): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    if (!this.isBroken && this.waiting.length === 0) {
      await this.command('QUIT', 'QUIT', Math.min(this.settings.commandTimeoutMs, 2_000)).catch(() => undefined);
    }
    this.isBroken = true;
    this.clearTimer();
    socket.destroy();
  }

  /** MAIL FROM, RCPT TO and DATA: in one write with PIPELINING, else one by one until one is refused. */
  private async openTransaction(envelope: { from: string; to: string }): Promise<[Reply, Reply, Reply | undefined]> {
    const mail = `MAIL FROM:<${envelope.from}>`;
    const rcpt = `RCPT TO:<${envelope.to}>`;
    const timeout = this.settings.commandTimeoutMs;
    if (this.supportsPipelining) {
      this.write(`${mail}\r\n${rcpt}\r\nDATA\r\n`);
      return Promise.all([
        this.readReply(timeout, 'MAIL FROM'),
        this.readReply(timeout, 'RCPT TO'),
        this.readReply(timeout, 'DATA'),
      ]);
    }
    const mailReply = await this.command(mail, 'MAIL FROM');
    if (mailReply.code !== 250) return [mailReply, mailReply, undefined];
    const rcptReply = await this.command(rcpt, 'RCPT TO');
    if (rcptReply.code !== 250 && rcptReply.code !== 251) return [mailReply, rcptReply, undefined];
    return [mailReply, rcptReply, await this.command('DATA', 'DATA')];
  }

  /** Ends a refused transaction with RSET and throws the refusal, whatever RSET does. */
  private async abandon(error: SmtpSendError): Promise<never> {
    try {
      const reply = await this.command('RSET', 'RSET');
      if (reply.code !== 250) this.isBroken = true;
    } catch {
      // The refusal is what matters to the caller; this session is simply not reused.
      this.isBroken = true;
    }
    throw error;
  }

  /** Ends an empty DATA phase. */
  private async endEmptyData(): Promise<void> {
    this.write(END_OF_DATA);
    await this.readReply(this.settings.commandTimeoutMs, 'DATA').catch(() => undefined);
  }

  private async hello(): Promise<Map<string, string>> {
    const name = this.settings.heloName ?? this.addressLiteral();
    const reply = await this.command(`EHLO ${name}`, 'EHLO');
    if (reply.code === 421) throw refusal(reply, 'EPROTOCOL', 'EHLO', 'the relay closed the session');
    if (reply.code !== 250) {
      const helo = await this.command(`HELO ${name}`, 'HELO');
      if (helo.code !== 250) throw refusal(helo, 'EPROTOCOL', 'HELO', 'the relay refused HELO');
      this.supportsPipelining = false;
      return new Map();
    }
    const capabilities = new Map<string, string>();
    for (const line of reply.lines.slice(1)) {
      // "AUTH PLAIN LOGIN", or the older "AUTH=PLAIN LOGIN".
      const [keyword = '', ...rest] = line
        .slice(4)
        .trim()
        .split(/[\s=]+/);
      const key = keyword.toUpperCase();
      capabilities.set(key, [capabilities.get(key), ...rest].filter(Boolean).join(' '));
    }
    this.supportsPipelining = capabilities.has('PIPELINING');
    this.facts.extensions = [...capabilities].map(([key, parameters]) => (parameters ? `${key} ${parameters}` : key));
    return capabilities;
  }

  /** STARTTLS, the handshake, and EHLO again over TLS (what the relay said before TLS is forgotten). */
  private async upgradeToTls(): Promise<Map<string, string>> {
    const reply = await this.command('STARTTLS', 'STARTTLS', this.settings.commandTimeoutMs, true);
    if (reply.code !== 220) throw refusal(reply, 'ETLS', 'STARTTLS', 'the relay refused STARTTLS');
    const { servername, rejectUnauthorized } = this.settings.target;
    const tls = connectTls({ socket: this.socket as Socket, servername, rejectUnauthorized });
    this.attach(tls);
    await this.waitForConnect(tls, 'secureConnect', this.settings.connectTimeoutMs);
    this.isSecure = true;
    return this.hello();
  }

  private async logIn(credentials: { user: string; password: string }, capabilities: Map<string, string>) {
    const authError = (message: string) => new SmtpSendError(message, 'EAUTH', undefined, undefined, 'AUTH');
    if (!this.isSecure && !this.settings.allowPlaintextAuth) {
      throw authError(
        'refusing to send the relay password in clear text: the relay offers no STARTTLS (use smtps:// or a relay ' +
          'with STARTTLS, or set SMTP_ALLOW_PLAINTEXT_AUTH=true for a relay on this host)',
      );
    }
    const offered = capabilities.get('AUTH');
    if (offered === undefined) {
      throw authError(
        'the relay does not offer AUTH, so the user and password of SMTP_URL cannot be used (remove them to send ' +
          'without logging in)',
      );
    }
    const mechanisms = offered.toUpperCase().split(/\s+/);
    const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
    let reply: Reply;
    let command: string;
    if (mechanisms.includes('PLAIN')) {
      command = 'AUTH PLAIN';
      reply = await this.command(
        `AUTH PLAIN ${base64(`\u0000${credentials.user}\u0000${credentials.password}`)}`,
        command,
      );
    } else if (mechanisms.includes('LOGIN')) {
      command = 'AUTH LOGIN';
      reply = await this.command('AUTH LOGIN', command);
      if (reply.code === 334) reply = await this.command(base64(credentials.user), command);
      if (reply.code === 334) reply = await this.command(base64(credentials.password), command);
    } else {
      throw authError(
        `the relay offers AUTH ${offered} only; the built-in client logs in with PLAIN or LOGIN ` +
          '(SMTP_MAILER=nodemailer also speaks CRAM-MD5)',
      );
    }
    if (reply.code !== 235) throw refusal(reply, 'EAUTH', command, 'the relay refused the login');
  }

  /** `[192.0.2.1]` or `[IPv6:...]` for this end of the connection (RFC 5321 §4.1.3). */
  private addressLiteral(): string {
    const local = (this.socket?.localAddress ?? '127.0.0.1').replace(/^::ffff:(?=\d+\.)/, '');
    return isIPv6(local) ? `[IPv6:${local}]` : `[${local}]`;
  }

  private command(line: string, command: string, timeoutMs = this.settings.commandTimeoutMs, isLastPlaintext = false) {
    this.write(`${line}\r\n`);
    return this.readReply(timeoutMs, command, isLastPlaintext);
  }

  private write(data: string | Buffer): void {
    this.liveSocket().write(data);
  }

  private liveSocket(): Socket | TLSSocket {
    if (this.failure) throw this.failure;
    if (!this.socket || this.socket.destroyed)
      throw new SmtpSendError('the connection to the relay is closed', 'ECONNECTION');
    return this.socket;
  }

  private readReply(timeoutMs: number, command: string, isLastPlaintext = false): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject, timeoutMs, command, isLastPlaintext });
      if (this.waiting.length === 1) this.armTimer();
    });
  }

  /** Bounds the wait for the reply at the head of the queue. */
  private armTimer(): void {
    this.clearTimer();
    const head = this.waiting[0];
    if (!head || head.timeoutMs <= 0) return;
    this.timer = setTimeout(() => {
      const what = head.command === 'DATA' ? 'the final dot or DATA' : head.command;
      this.fail(
        new SmtpSendError(
          `the relay did not answer ${what} within ${head.timeoutMs} ms`,
          'ETIMEDOUT',
          undefined,
          undefined,
          head.command,
        ),
      );
    }, head.timeoutMs);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private receive(chunk: Buffer): void {
    this.received.text += chunk.toString('latin1');
    for (;;) {
      const waiter = this.waiting[0];
      if (!waiter) break;
      const reply = takeReply(this.received);
      if (reply === undefined) break;
      if (reply === null)
        return this.fail(new SmtpSendError('the relay sent a line that is not an SMTP reply', 'EPROTOCOL'));
      this.waiting.shift();
      if (reply.code === 421) this.isBroken = true;
      waiter.resolve(reply);
      if (waiter.isLastPlaintext) {
        // RFC 3207 §6: nothing received before the TLS handshake may be read as a reply after it.
        this.received.text = '';
        this.stopReading?.();
        break;
      }
    }
    if (this.received.text.length > MAX_REPLY_BYTES) {
      return this.fail(new SmtpSendError(`the relay sent a reply longer than ${MAX_REPLY_BYTES} bytes`, 'EPROTOCOL'));
    }
    if (this.waiting.length > 0) return this.armTimer();
    this.clearTimer();
    if (this.received.text !== '') {
      // Nothing was asked: a 421 before closing an idle session, or something no command can be matched with.
      this.received.text = '';
      this.fail(new SmtpSendError('the relay spoke while nothing was asked (closing an idle session)', 'ECONNECTION'));
    }
  }

  private attach(socket: Socket | TLSSocket): void {
    this.socket = socket;
    socket.setNoDelay(true);
    const onData = (chunk: Buffer) => this.receive(chunk);
    socket.on('data', onData);
    this.stopReading = () => socket.off('data', onData);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const isTls = /CERT|SELF_SIGNED|SSL|TLS|ERR_SSL/.test(error.code ?? '');
      const isConnection = error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET' || error.code === 'EPIPE';
      const code = isTls ? 'ETLS' : isConnection ? 'ECONNECTION' : 'ESOCKET';
      this.fail(
        new SmtpSendError(`connection to the relay failed: ${error.message}`, code, undefined, undefined, 'CONN'),
      );
    });
    socket.on('close', () => this.fail(new SmtpSendError('the relay closed the connection', 'ECONNECTION')));
  }

  private waitForConnect(socket: Socket | TLSSocket, event: 'connect' | 'secureConnect', timeoutMs = 0) {
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onFail = () => {
        clearTimeout(timer);
        reject(this.failure ?? new SmtpSendError('could not connect to the relay', 'ECONNECTION'));
      };
      socket.once(event, () => {
        clearTimeout(timer);
        socket.off('close', onFail);
        resolve();
      });
      socket.once('close', onFail);
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          this.fail(
            new SmtpSendError(`no TLS handshake within ${timeoutMs} ms`, 'ETIMEDOUT', undefined, undefined, 'STARTTLS'),
          );
        }, timeoutMs);
      }
    });
  }

  private fail(error: SmtpSendError): void {
    const wasIdle = this.waiting.length === 0 && !this.isBroken;
    this.isBroken = true;
    this.failure ??= error;
    this.clearTimer();
    for (const waiter of this.waiting.splice(0)) waiter.reject(this.failure);
    this.socket?.destroy();
    if (wasIdle) this.onBrokenWhileIdle?.();
  }
}
