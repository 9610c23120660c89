/**
 * A small pooled SMTP client for pre-built messages: the fast path of a large send. The message is already complete
 * (headers, MIME, quoted-printable, CRLF line ends), so the client only speaks the protocol: one pipelined
 * `MAIL FROM` + `RCPT TO` + `DATA` per message, then the bytes, dot-stuffed with native `Buffer.indexOf` and written
 * as slices (no per-byte loop, no copy of the message). Connections stay open for the whole send, the way listmonk's
 * smtppool keeps them.
 *
 * Covers what a relay needs, read from the same URL as nodemailer reads it: smtp:// with opportunistic STARTTLS
 * (`?requireTLS=true` to insist, `?ignoreTLS=true` to skip), smtps://, AUTH PLAIN or LOGIN from the URL's user and
 * password, timeouts. Errors carry nodemailer's shape (`code`, and
 * `responseCode` + `response` for SMTP refusals), so `classifySmtpReply` reads both mailers alike. DKIM signing is
 * not done here: `createMailerFromConfig` keeps nodemailer when a key is configured.
 */
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import type { ClosableMailer, SendResult } from './mailer.js';

/** Options of the raw SMTP mailer. */
export interface RawSmtpMailerOptions {
  /**
   * `smtp://[user:pass@]host[:port]` or `smtps://...`, with nodemailer's query options where they apply:
   * `secure=true`, `requireTLS=true`, `ignoreTLS=true`, `tls.rejectUnauthorized=false`, `name=<EHLO name>`.
   */
  url: string;
  /** Connections kept open at most. */
  poolSize: number;
  /** Timeout for connecting and for each reply. */
  timeoutMs: number;
  /** Name sent with EHLO. @defaultValue os.hostname() */
  clientName?: string;
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

interface Outgoing {
  envelope: { from: string; to: string };
  /** The message whole, or its chunks. */
  message: Buffer | readonly Buffer[];
  resolve: (result: SendResult) => void;
  reject: (error: Error) => void;
}

const CRLF = Buffer.from('\r\n', 'ascii');
const DOT = Buffer.from('.', 'ascii');
const END_OF_DATA = Buffer.from('.\r\n', 'ascii');
const LF_DOT = Buffer.from('\n.', 'ascii');
const CR_DOT = Buffer.from('\r.', 'ascii');
const ENVELOPE_ADDRESS = /^[^\s<>]*$/;

/** Shared chunks at least this large have their inner dot-stuffing computed once and reused (by identity). */
const CACHED_CHUNK_BYTES = 4_096;
const innerSlicesCache = new WeakMap<Buffer, Buffer[]>();

/**
 * Dot-stuffing inside one chunk, independent of its neighbours: every "\n." after the first byte and every "\r."
 * (a bare CR) gets its dot doubled, a bare line break before a dot becoming CRLF. A "\n." at index 0 is left to the
 * caller, which knows whether the previous chunk ended with a CR.
 */
function innerSlices(chunk: Buffer): Buffer[] {
  let lf = chunk.indexOf(LF_DOT, 1);
  let cr = chunk.indexOf(CR_DOT);
  // The common case: nothing to escape, the chunk goes out as it is (no view allocated).
  if (lf === -1 && cr === -1) return [chunk];
  const slices: Buffer[] = [];
  let start = 0;
  while (lf !== -1 || cr !== -1) {
    const at = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
    if (at === lf && chunk[at - 1] === 0x0d) {
      slices.push(chunk.subarray(start, at + 1));
    } else {
      if (at > start) slices.push(chunk.subarray(start, at));
      slices.push(CRLF);
    }
    slices.push(DOT);
    start = at + 1;
    if (at === lf) lf = chunk.indexOf(LF_DOT, start);
    if (at === cr) cr = chunk.indexOf(CR_DOT, start);
  }
  if (start < chunk.length) slices.push(chunk.subarray(start));
  return slices;
}

/**
 * The message's bytes as the DATA phase sends them: a dot at the start of a line doubled, a final CRLF ensured, and
 * the terminating `.`. A bare CR or LF right before a dot becomes CRLF first (as nodemailer does), so no receiver
 * can read an early end of data whatever it takes for a line end. Takes the message whole or in chunks (see
 * `RenderedMessage.chunks`; chunks of 4 KB or more are treated as immutable and their stuffing is reused). Returns
 * slices of the input plus a few constant buffers; nothing is copied.
 */
export function dotStuffedSlices(message: Buffer | readonly Buffer[]): Buffer[] {
  const chunks = Buffer.isBuffer(message) ? [message] : message;
  const isShared = !Buffer.isBuffer(message);
  const out: Buffer[] = [];
  // The last two bytes of the input so far (-1: none yet).
  let last = -1;
  let beforeLast = -1;
  for (const chunk of chunks) {
    if (chunk.length === 0) continue;
    let slices: Buffer[];
    if (isShared && chunk.length >= CACHED_CHUNK_BYTES) {
      slices = innerSlicesCache.get(chunk) ?? innerSlices(chunk);
      innerSlicesCache.set(chunk, slices);
    } else {
      slices = innerSlices(chunk);
    }
    const endsWithBareBreak = last === 0x0d || (last === 0x0a && beforeLast !== 0x0d);
    if (chunk[0] === 0x2e) {
      // A dot opening this chunk opens a line when the message starts here or the previous chunk ended a line.
      if (last === -1 || (last === 0x0a && beforeLast === 0x0d)) {
        out.push(DOT);
      } else if (endsWithBareBreak) {
        const previous = out.pop() as Buffer;
        if (previous.length > 1) out.push(previous.subarray(0, previous.length - 1));
        out.push(CRLF, DOT);
      }
      for (const slice of slices) out.push(slice);
    } else if (chunk[0] === 0x0a && chunk[1] === 0x2e) {
      // "\n." at the start of this chunk: a CRLF line start when the previous chunk ended with CR, else a bare LF.
      const first = slices[0] as Buffer;
      out.push(last === 0x0d ? first.subarray(0, 1) : CRLF, DOT, first.subarray(1), ...slices.slice(1));
    } else {
      for (const slice of slices) out.push(slice);
    }
    if (chunk.length >= 2) {
      beforeLast = chunk[chunk.length - 2] as number;
      last = chunk[chunk.length - 1] as number;
    } else {
      beforeLast = last;
      last = chunk[0] as number;
    }
  }
  if (last !== 0x0a || beforeLast !== 0x0d) out.push(CRLF);
  out.push(END_OF_DATA);
  return out;
}

/** Splits a complete reply out of the receive buffer, or returns undefined when more bytes are needed. */
function takeReply(buffer: { text: string }): Reply | undefined {
  let offset = 0;
  const lines: string[] = [];
  for (;;) {
    const end = buffer.text.indexOf('\n', offset);
    if (end === -1) return undefined;
    const line = buffer.text.slice(offset, end).replace(/\r$/, '');
    offset = end + 1;
    lines.push(line);
    // "250-..." continues a multiline reply, "250 ..." (or a bare "250") ends it.
    if (line.length < 4 || line[3] !== '-') {
      buffer.text = buffer.text.slice(offset);
      const code = Number(line.slice(0, 3));
      return { code: Number.isInteger(code) ? code : 0, text: lines.join('\n'), lines };
    }
  }
}

function refusal(reply: Reply, code: string, what: string): SmtpSendError {
  return new SmtpSendError(`${what}: ${reply.text}`, code, reply.code, reply.text);
}

/** What a session learned while opening: the relay probe (`probe-relay.ts`) reports it. */
export interface SessionFacts {
  greeting: string;
  /** EHLO keywords after TLS, e.g. `PIPELINING`, `AUTH PLAIN LOGIN`. */
  extensions: string[];
  tls: 'implicit' | 'starttls' | 'none';
  isAuthenticated: boolean;
}

/** One SMTP session, used by one message at a time. */
export class SmtpSession {
  private socket: Socket | TLSSocket | undefined;
  private readonly received = { text: '' };
  private readonly waiting: { resolve: (reply: Reply) => void; reject: (error: Error) => void }[] = [];
  private failure: SmtpSendError | undefined;
  private supportsPipelining = false;
  /** True once the server said goodbye, the socket closed or a protocol step failed: never reuse. */
  isBroken = false;
  /** Filled in by `open()`, step by step (a failed open leaves what it got so far). */
  readonly facts: SessionFacts = { greeting: '', extensions: [], tls: 'none', isAuthenticated: false };

  constructor(
    private readonly target: URL,
    private readonly options: RawSmtpMailerOptions,
  ) {}

  /** Connects, reads the greeting, EHLO, STARTTLS when offered (or required), AUTH when the URL has a user. */
  async open(): Promise<void> {
    const query = this.target.searchParams;
    const secure = this.target.protocol === 'smtps:' || query.get('secure') === 'true';
    const host = this.target.hostname.replace(/^\[|\]$/g, '');
    const port = Number(this.target.port) || (secure ? 465 : 587);
    const rejectUnauthorized = query.get('tls.rejectUnauthorized') !== 'false';
    // SNI takes a host name, never an address literal.
    const servername = isIP(host) === 0 ? host : undefined;
    const socket = secure ? connectTls({ host, port, servername, rejectUnauthorized }) : connectTcp({ host, port });
    this.attach(socket);
    await this.waitForConnect(socket, secure ? 'secureConnect' : 'connect');

    if (secure) this.facts.tls = 'implicit';
    const greeting = await this.readReply();
    this.facts.greeting = greeting.text;
    if (greeting.code !== 220) throw refusal(greeting, 'EPROTOCOL', 'the relay refused the connection');
    let capabilities = await this.hello();

    const wantsTls = query.get('requireTLS') === 'true';
    const skipsTls = query.get('ignoreTLS') === 'true' && !wantsTls;
    if (!secure && !skipsTls && (capabilities.has('STARTTLS') || wantsTls)) {
      if (!capabilities.has('STARTTLS'))
        throw new SmtpSendError('the relay does not offer STARTTLS (requireTLS=true)', 'ETLS');
      const reply = await this.command('STARTTLS');
      if (reply.code !== 220) throw refusal(reply, 'ETLS', 'STARTTLS refused');
      const plain = this.socket as Socket;
      plain.removeAllListeners('data');
      const tls = connectTls({ socket: plain, servername, rejectUnauthorized });
      this.attach(tls);
      await this.waitForConnect(tls, 'secureConnect');
      this.facts.tls = 'starttls';
      capabilities = await this.hello();
    }

    const user = decodeURIComponent(this.target.username);
    if (user) {
      const password = decodeURIComponent(this.target.password);
      const auth = capabilities.get('AUTH') ?? '';
      let reply: Reply;
      if (/\bPLAIN\b/i.test(auth) || !/\bLOGIN\b/i.test(auth)) {
        reply = await this.command(
          `AUTH PLAIN ${Buffer.from(`\u0000${user}\u0000${password}`, 'utf8').toString('base64')}`,
        );
      } else {
        reply = await this.command('AUTH LOGIN');
        if (reply.code === 334) reply = await this.command(Buffer.from(user, 'utf8').toString('base64'));
        if (reply.code === 334) reply = await this.command(Buffer.from(password, 'utf8').toString('base64'));
      }
      if (reply.code !== 235) throw refusal(reply, 'EAUTH', 'authentication failed');
      this.facts.isAuthenticated = true;
    }
  }

  /** Sends one message; resolves with the relay's reply or throws an SmtpSendError. */
  async send(envelope: { from: string; to: string }, message: Buffer | readonly Buffer[]): Promise<SendResult> {
    if (!ENVELOPE_ADDRESS.test(envelope.from) || !ENVELOPE_ADDRESS.test(envelope.to) || envelope.to === '') {
      throw new SmtpSendError('the envelope holds an address SMTP cannot carry', 'EENVELOPE');
    }
    const mail = `MAIL FROM:<${envelope.from}>`;
    const rcpt = `RCPT TO:<${envelope.to}>`;
    let mailReply: Reply;
    let rcptReply: Reply;
    let dataReply: Reply;
    if (this.supportsPipelining) {
      this.write(`${mail}\r\n${rcpt}\r\nDATA\r\n`);
      [mailReply, rcptReply, dataReply] = await Promise.all([this.readReply(), this.readReply(), this.readReply()]);
    } else {
      mailReply = await this.command(mail);
      if (mailReply.code !== 250) {
        await this.reset();
        throw refusal(mailReply, 'EENVELOPE', 'sender refused');
      }
      rcptReply = await this.command(rcpt);
      if (rcptReply.code !== 250 && rcptReply.code !== 251) {
        await this.reset();
        throw refusal(rcptReply, 'EENVELOPE', 'recipient refused');
      }
      dataReply = await this.command('DATA');
    }
    const isEnvelopeAccepted = mailReply.code === 250 && (rcptReply.code === 250 || rcptReply.code === 251);
    if (!isEnvelopeAccepted || dataReply.code !== 354) {
      if (dataReply.code === 354) {
        // A relay that opened DATA although it refused the envelope: end the empty transaction.
        this.write(END_OF_DATA);
        await this.readReply();
      }
      await this.reset();
      if (mailReply.code !== 250) throw refusal(mailReply, 'EENVELOPE', 'sender refused');
      if (!isEnvelopeAccepted) throw refusal(rcptReply, 'EENVELOPE', 'recipient refused');
      throw refusal(dataReply, 'EMESSAGE', 'DATA refused');
    }
    const socket = this.liveSocket();
    socket.cork();
    for (const slice of dotStuffedSlices(message)) socket.write(slice);
    socket.uncork();
    const final = await this.readReply();
    if (final.code < 200 || final.code >= 300) {
      if (final.code === 421) this.isBroken = true;
      throw refusal(final, 'EMESSAGE', 'message refused');
    }
    return { response: final.text, accepted: [envelope.to], rejected: [] };
  }

  /** Says QUIT (when the session is usable) and closes the socket. */
  async close(): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    if (!this.isBroken && this.waiting.length === 0) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([this.command('QUIT'), new Promise((resolve) => (timer = setTimeout(resolve, 1_000)))]);
      } catch {
        // Closing anyway.
      } finally {
        clearTimeout(timer);
      }
    }
    this.isBroken = true;
    socket.destroy();
  }

  private async hello(): Promise<Map<string, string>> {
    const name = this.options.clientName ?? this.target.searchParams.get('name') ?? hostname();
    let reply = await this.command(`EHLO ${name}`);
    if (reply.code !== 250) {
      reply = await this.command(`HELO ${name}`);
      if (reply.code !== 250) throw refusal(reply, 'EPROTOCOL', 'HELO refused');
    }
    const capabilities = new Map<string, string>();
    for (const line of reply.lines.slice(1)) {
      const [keyword = '', ...rest] = line.slice(4).trim().split(/\s+/);
      capabilities.set(keyword.toUpperCase(), rest.join(' '));
    }
    this.supportsPipelining = capabilities.has('PIPELINING');
    this.facts.extensions = [...capabilities].map(([keyword, value]) => (value ? `${keyword} ${value}` : keyword));
    return capabilities;
  }

  private async reset(): Promise<void> {
    const reply = await this.command('RSET');
    if (reply.code !== 250) this.isBroken = true;
  }

  private command(line: string): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.readReply();
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

  private readReply(): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    // A reply already buffered belongs to this call only when nobody is waiting before it.
    const ready = this.waiting.length === 0 ? takeReply(this.received) : undefined;
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket?.setTimeout(this.options.timeoutMs);
    });
  }

  private attach(socket: Socket | TLSSocket): void {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(this.options.timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      this.received.text += chunk.toString('latin1');
      for (;;) {
        const waiter = this.waiting[0];
        if (!waiter) break;
        const reply = takeReply(this.received);
        if (!reply) break;
        this.waiting.shift();
        if (reply.code === 421) this.isBroken = true;
        waiter.resolve(reply);
      }
      if (this.waiting.length === 0) socket.setTimeout(0);
    });
    socket.on('timeout', () => this.fail(new SmtpSendError('the relay did not answer in time', 'ETIMEDOUT')));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const isTls = /CERT|SELF_SIGNED|SSL|TLS/.test(error.code ?? '');
      const isConnection = error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET' || error.code === 'EPIPE';
      const code = isTls ? 'ETLS' : isConnection ? 'ECONNECTION' : 'ESOCKET';
      this.fail(new SmtpSendError(`connection to the relay failed: ${error.message}`, code));
    });
    socket.on('close', () => this.fail(new SmtpSendError('the relay closed the connection', 'ECONNECTION')));
  }

  private waitForConnect(socket: Socket | TLSSocket, event: 'connect' | 'secureConnect'): Promise<void> {
    return new Promise((resolve, reject) => {
      const onFail = () => reject(this.failure ?? new SmtpSendError('could not connect to the relay', 'ECONNECTION'));
      socket.once(event, () => {
        socket.off('close', onFail);
        resolve();
      });
      socket.once('close', onFail);
      socket.once('timeout', onFail);
    });
  }

  private fail(error: SmtpSendError): void {
    this.isBroken = true;
    this.failure ??= error;
    for (const waiter of this.waiting.splice(0)) waiter.reject(this.failure);
    this.socket?.destroy();
  }
}

/**
 * Creates the pooled raw mailer. Connections open on demand up to `poolSize`; a message waits for a free one. A
 * connection that fails takes only the message it was opened for down with it (the error says why).
 */
export function createRawSmtpMailer(options: RawSmtpMailerOptions): ClosableMailer {
  const target = new URL(options.url);
  if (target.protocol !== 'smtp:' && target.protocol !== 'smtps:') {
    throw new SmtpSendError(`unsupported relay URL scheme ${target.protocol}`, 'EPROTOCOL');
  }
  const idle: SmtpSession[] = [];
  const sessions = new Set<SmtpSession>();
  const queue: Outgoing[] = [];
  let opening = 0;
  let isClosed = false;

  const run = (session: SmtpSession, outgoing: Outgoing): void => {
    session.send(outgoing.envelope, outgoing.message).then(
      (result) => {
        outgoing.resolve(result);
        release(session);
      },
      (error: unknown) => {
        outgoing.reject(error as Error);
        release(session);
      },
    );
  };

  const release = (session: SmtpSession): void => {
    if (session.isBroken || isClosed) {
      sessions.delete(session);
      void session.close();
    } else {
      idle.push(session);
    }
    pump();
  };

  const pump = (): void => {
    while (queue.length > 0) {
      const session = idle.pop();
      if (session?.isBroken) {
        // The relay closed it while idle.
        sessions.delete(session);
        void session.close();
        continue;
      }
      if (session) {
        run(session, queue.shift() as Outgoing);
        continue;
      }
      if (sessions.size + opening >= options.poolSize) return;
      // Open a connection for the message at the head of the queue; if it fails, that message fails with it.
      const first = queue.shift() as Outgoing;
      const fresh = new SmtpSession(target, options);
      opening += 1;
      fresh.open().then(
        () => {
          opening -= 1;
          sessions.add(fresh);
          run(fresh, first);
        },
        (error: unknown) => {
          opening -= 1;
          void fresh.close();
          first.reject(error as Error);
          pump();
        },
      );
    }
  };

  return {
    send(message) {
      if (isClosed) return Promise.reject(new SmtpSendError('the mailer is closed', 'ECONNECTION'));
      return new Promise<SendResult>((resolve, reject) => {
        // Chunks when the caller has them: reading `raw` could join (copy) the whole message.
        queue.push({ envelope: message.envelope, message: message.chunks ?? message.raw, resolve, reject });
        pump();
      });
    },
    async close() {
      isClosed = true;
      for (const outgoing of queue.splice(0)) outgoing.reject(new SmtpSendError('the mailer is closed', 'ECONNECTION'));
      const closing = idle.splice(0).map((session) => {
        sessions.delete(session);
        return session.close();
      });
      await Promise.all(closing);
    },
  };
}
