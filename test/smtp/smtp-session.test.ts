/**
 * The built-in client's protocol against relays configured for the paths a default smtp-server never takes (no
 * PIPELINING, HELO only, STARTTLS required, AUTH not offered or only in clear text), and against scripted relays for
 * what no honest relay does on purpose (bytes injected before TLS, a 421 while idle, a reply that never ends).
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { classifySmtpReply } from '../../src/smtp/classify-smtp-reply.js';
import { createRawSmtpMailer, type RawSmtpMailerOptions } from '../../src/smtp/raw-smtp-mailer.js';
import { MAX_REPLY_BYTES } from '../../src/smtp/smtp-session.js';
import { ordinaryReply, startScriptedSmtp } from '../helpers/scripted-smtp.js';
import { smtpReply } from '../helpers/smtp-sink.js';

const FROM = 'newsletter@harbourgazette.example';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function messageFor(to: string, marker: string): Buffer {
  return Buffer.from(`To: ${to}\r\nMessage-ID: <${marker}@harbourgazette.example>\r\nSubject: Hi\r\n\r\nHello\r\n`);
}

function mailerFor(url: string, options: Partial<RawSmtpMailerOptions> = {}) {
  const mailer = createRawSmtpMailer({ url, poolSize: 1, commandTimeoutMs: 5_000, ...options });
  cleanups.push(() => mailer.close());
  return mailer;
}

/** Sends one message and returns what happened: `delivered`, or the error. */
async function sendTo(mailer: ReturnType<typeof mailerFor>, to: string, marker = to) {
  return mailer.send({ envelope: { from: FROM, to }, raw: messageFor(to, marker) }).then(
    () => 'delivered' as const,
    (error: unknown) => error as Error & { code?: string; responseCode?: number; command?: string },
  );
}

interface Relay {
  url: string;
  /** Recipients of accepted messages, with what the session looked like. */
  received: { to: string; isSecure: boolean; heloName: string; user: unknown }[];
  /** Every login attempt the relay saw. */
  logins: string[];
}

/** A real smtp-server on loopback, with the options of the path under test; records what it accepted. */
async function relayWith(options: SMTPServerOptions): Promise<Relay> {
  const received: Relay['received'] = [];
  const logins: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    onAuth(auth, _session, callback) {
      logins.push(auth.method);
      if (auth.username === 'desk' && auth.password === 'right') callback(null, { user: 'desk' });
      else callback(smtpReply(535, '5.7.8 authentication failed'));
    },
    onData(stream, session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        for (const to of session.envelope.rcptTo) {
          received.push({
            to: to.address,
            isSecure: session.secure,
            heloName: session.hostNameAppearsAs,
            user: session.user,
          });
        }
        callback();
      });
    },
    ...options,
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`, received, logins };
}

describe('the built-in client against relays that differ from the default', () => {
  it('a relay without PIPELINING gets one command at a time; a refused recipient still leaves the connection usable', async () => {
    const relay = await relayWith({
      hidePIPELINING: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      onRcptTo: (address, _session, callback) =>
        callback(address.address.startsWith('gone') ? smtpReply(550, '5.1.1 user unknown') : undefined),
    });
    const mailer = mailerFor(relay.url);
    expect(await sendTo(mailer, 'one@example.org')).toBe('delivered');
    expect(classifySmtpReply(await sendTo(mailer, 'gone@example.org')).kind).toBe('permanent-mailbox');
    expect(await sendTo(mailer, 'two@example.org')).toBe('delivered');
    expect(relay.received.map((r) => r.to)).toEqual(['one@example.org', 'two@example.org']);
  });

  it('a relay that knows only HELO is greeted with HELO and gets the message', async () => {
    const relay = await relayWith({ disabledCommands: ['EHLO', 'STARTTLS', 'AUTH'] });
    const mailer = mailerFor(relay.url, { heloName: 'harbourgazette.example' });
    expect(await sendTo(mailer, 'reader@example.org')).toBe('delivered');
    expect(relay.received).toMatchObject([{ to: 'reader@example.org', heloName: 'harbourgazette.example' }]);
  });

  it('a relay that requires STARTTLS: upgraded by default; with ignoreTLS its 530 is the relay’s refusal, not the reader’s', async () => {
    const relay = await relayWith({
      disabledCommands: ['AUTH'],
      onMailFrom: (_address, session, callback) =>
        callback(session.secure ? undefined : smtpReply(530, '5.7.0 Must issue a STARTTLS command first')),
    });
    expect(await sendTo(mailerFor(`${relay.url}?tls.rejectUnauthorized=false`), 'secure@example.org')).toBe(
      'delivered',
    );
    expect(relay.received).toMatchObject([{ to: 'secure@example.org', isSecure: true }]);

    const refused = await sendTo(mailerFor(`${relay.url}?ignoreTLS=true`), 'plain@example.org');
    expect(classifySmtpReply(refused)).toMatchObject({ kind: 'relay-refused', code: 530 });
    expect(relay.received).toHaveLength(1);
  });

  it('never sends the password in clear text: refused before any command names a reader, unless plain-text login is allowed', async () => {
    const relay = await relayWith({ authMethods: ['PLAIN', 'LOGIN'], allowInsecureAuth: true, hideSTARTTLS: true });
    const url = relay.url.replace('smtp://', 'smtp://desk:right@');

    const refused = await sendTo(mailerFor(url), 'reader@example.org');
    expect(refused).toMatchObject({ code: 'EAUTH' });
    expect((refused as Error).message).toMatch(
      /^refusing to send the relay password in clear text: .*SMTP_ALLOW_PLAINTEXT_AUTH/,
    );
    expect((refused as Error).message).not.toContain('right');
    expect(classifySmtpReply(refused).kind).toBe('relay-refused');
    expect(relay.logins).toEqual([]);

    expect(await sendTo(mailerFor(url, { allowPlaintextAuth: true }), 'reader@example.org')).toBe('delivered');
    expect(relay.logins).toEqual(['PLAIN']);
    expect(relay.received).toMatchObject([{ to: 'reader@example.org', user: 'desk' }]);
  });

  it('logs in over STARTTLS with the mechanism the relay lists: LOGIN when PLAIN is not offered', async () => {
    const relay = await relayWith({ authMethods: ['LOGIN'] });
    const mailer = mailerFor(`${relay.url.replace('smtp://', 'smtp://desk:right@')}?tls.rejectUnauthorized=false`);
    expect(await sendTo(mailer, 'reader@example.org')).toBe('delivered');
    expect(relay.logins).toEqual(['LOGIN']);
    expect(relay.received).toMatchObject([{ isSecure: true, user: 'desk' }]);
  });

  it('a relay that offers no AUTH (or none it can use) is refused once a password is configured; without one it is used', async () => {
    const noAuth = await relayWith({ disabledCommands: ['AUTH', 'STARTTLS'] });
    const refused = await sendTo(
      mailerFor(noAuth.url.replace('smtp://', 'smtp://desk:right@'), { allowPlaintextAuth: true }),
      'a@example.org',
    );
    expect(refused).toMatchObject({ code: 'EAUTH' });
    expect((refused as Error).message).toContain('does not offer AUTH');
    expect(classifySmtpReply(refused).kind).toBe('relay-refused');
    expect(await sendTo(mailerFor(noAuth.url), 'b@example.org')).toBe('delivered');
    expect(noAuth.received.map((r) => r.to)).toEqual(['b@example.org']);

    const cramOnly = await relayWith({ authMethods: ['CRAM-MD5'], allowInsecureAuth: true, hideSTARTTLS: true });
    const unusable = await sendTo(
      mailerFor(cramOnly.url.replace('smtp://', 'smtp://desk:right@'), { allowPlaintextAuth: true }),
      'c@example.org',
    );
    expect((unusable as Error).message).toContain('offers AUTH CRAM-MD5 only');
    expect(cramOnly.logins).toEqual([]);
  });

  it('a refused greeting, a refused HELO and a refused login are the relay’s refusals, with the relay’s reply', async () => {
    const greeting = await relayWith({
      onConnect: (_session, callback) => callback(smtpReply(554, '5.7.1 no service for you')),
    });
    const noGreeting = await sendTo(mailerFor(greeting.url), 'a@example.org');
    expect(classifySmtpReply(noGreeting)).toMatchObject({ kind: 'relay-refused', code: 554 });

    const scripted = await startScriptedSmtp((line) =>
      /^(EHLO|HELO)/.test(line) ? '550 5.7.1 go away\r\n' : ordinaryReply(line),
    );
    cleanups.push(scripted.close);
    const noHello = await sendTo(mailerFor(scripted.url, { heloName: 'harbourgazette.example' }), 'b@example.org');
    expect(noHello).toMatchObject({ command: 'HELO', responseCode: 550 });
    expect(classifySmtpReply(noHello).kind).toBe('relay-refused');
    expect(scripted.commands.slice(0, 3)).toEqual(['EHLO harbourgazette.example', 'HELO harbourgazette.example']);

    const login = await relayWith({ authMethods: ['PLAIN'], allowInsecureAuth: true, hideSTARTTLS: true });
    const wrong = await sendTo(
      mailerFor(login.url.replace('smtp://', 'smtp://desk:wrong@'), { allowPlaintextAuth: true }),
      'c@example.org',
    );
    expect(classifySmtpReply(wrong)).toMatchObject({ kind: 'relay-refused', code: 535 });
    expect(classifySmtpReply(wrong).message).toContain('the relay refused the login');
  });
});

describe('the EHLO name', () => {
  it('is the configured domain (Unicode as punycode), else the address literal of the connection, never a bare host name', async () => {
    const relay = await relayWith({ disabledCommands: ['STARTTLS', 'AUTH'] });
    await sendTo(mailerFor(relay.url, { heloName: 'harbourgazette.example' }), 'a@example.org');
    await sendTo(mailerFor(`${relay.url}?name=${encodeURIComponent('zeitung.bücher.example')}`), 'b@example.org');
    await sendTo(mailerFor(relay.url), 'c@example.org');
    expect(relay.received.map((r) => r.heloName)).toEqual([
      'harbourgazette.example',
      'zeitung.xn--bcher-kva.example',
      '[127.0.0.1]',
    ]);
  });

  it.each([
    ['a bare host name', 'mailer'],
    ['a line break', 'mail.example.org\r\nRCPT TO:<x@example.org>'],
    ['a space', 'mail.example.org x'],
  ])('refuses %s in ?name= before connecting', (_what, name) => {
    expect(() =>
      createRawSmtpMailer({ url: `smtp://127.0.0.1:25?name=${encodeURIComponent(name)}`, poolSize: 1 }),
    ).toThrow(/EHLO name/);
  });
});

describe('replies the client must not believe', () => {
  it('discards what arrived in clear text before TLS: an injected reply never counts, every message really arrives', async () => {
    const relay = await relayWith({ disabledCommands: ['AUTH'] });
    const proxy = await startInjectingProxy(new URL(relay.url).port, '250 INJECTED\r\n');
    const mailer = mailerFor(`${proxy.url}?tls.rejectUnauthorized=false`);
    const outcomes = [];
    for (const to of ['one@example.org', 'two@example.org', 'three@example.org'])
      outcomes.push(await sendTo(mailer, to));
    expect(proxy.injections()).toBe(1);
    expect(outcomes).toEqual(['delivered', 'delivered', 'delivered']);
    expect(relay.received.map((r) => r.to)).toEqual(['one@example.org', 'two@example.org', 'three@example.org']);
  });

  it('a 421 while the connection is idle closes it; the next message goes out on a new connection', async () => {
    const relay = await startScriptedSmtp((line) =>
      line === '.' ? '250 2.0.0 queued\r\n421 4.4.2 idle too long, closing\r\n' : ordinaryReply(line),
    );
    cleanups.push(relay.close);
    const mailer = mailerFor(relay.url);
    expect(await sendTo(mailer, 'one@example.org')).toBe('delivered');
    expect(await sendTo(mailer, 'two@example.org')).toBe('delivered');
    expect(relay.connections()).toBe(2);
  });

  it('a reply that never ends is cut off at the size cap instead of filling memory', async () => {
    const relay = await startScriptedSmtp((line) =>
      line.startsWith('EHLO')
        ? `${'250-padding'.padEnd(500, 'x')}\r\n`.repeat(Math.ceil((2 * MAX_REPLY_BYTES) / 500))
        : ordinaryReply(line),
    );
    cleanups.push(relay.close);
    const error = await sendTo(mailerFor(relay.url), 'reader@example.org');
    expect(error).toMatchObject({ code: 'EPROTOCOL' });
    expect((error as Error).message).toContain(`longer than ${MAX_REPLY_BYTES} bytes`);
  });

  it('when RSET fails after a refused recipient, the refusal is kept: the mailbox is gone, not "connection lost"', async () => {
    const relay = await startScriptedSmtp((line, socket) => {
      if (line.startsWith('RCPT')) return '550 5.1.1 user unknown\r\n';
      if (line === 'RSET') {
        socket.destroy();
        return undefined;
      }
      return ordinaryReply(line);
    });
    cleanups.push(relay.close);
    const error = await sendTo(mailerFor(relay.url), 'gone@example.org');
    expect(classifySmtpReply(error)).toMatchObject({ kind: 'permanent-mailbox', code: 550 });
  });

  it('a 2xx where DATA’s 354 belongs is out of step: an error that never counts as a delivery', async () => {
    const relay = await startScriptedSmtp((line) => (line === 'DATA' ? '250 2.0.0 ok\r\n' : ordinaryReply(line)));
    cleanups.push(relay.close);
    const error = await sendTo(mailerFor(relay.url), 'reader@example.org');
    expect(error).toMatchObject({ code: 'EPROTOCOL', responseCode: 250 });
    expect(classifySmtpReply(error).kind).toBe('transient');
  });
});

describe('timeouts', () => {
  it('a relay that accepts the connection but never greets fails within the connect timeout, as unavailable', async () => {
    const silent = createServer((socket) => socket.on('data', () => undefined));
    const sockets: Socket[] = [];
    silent.on('connection', (socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const url = `smtp://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const error = await sendTo(
      mailerFor(url, { connectTimeoutMs: 200, commandTimeoutMs: 60_000 }),
      'reader@example.org',
    );
    expect(error).toMatchObject({ code: 'ETIMEDOUT', command: 'CONN' });
    expect(classifySmtpReply(error)).toMatchObject({ kind: 'transient', isRelayUnavailable: true });
  });

  it('the reply to the final dot has its own, longer limit: a slow 250 is waited for, a silent command is not', async () => {
    let isSlow = true;
    const relay = await startScriptedSmtp((line, socket) => {
      if (line === '.' && isSlow) {
        setTimeout(() => socket.write('250 2.0.0 queued at last\r\n'), 600);
        return undefined;
      }
      if (!isSlow) return undefined;
      return ordinaryReply(line);
    });
    cleanups.push(relay.close);
    const mailer = mailerFor(relay.url, { commandTimeoutMs: 200, finalDotTimeoutMs: 30_000 });
    expect(await sendTo(mailer, 'slow@example.org')).toBe('delivered');
    isSlow = false;
    expect(await sendTo(mailer, 'silent@example.org')).toMatchObject({ code: 'ETIMEDOUT', command: 'MAIL FROM' });
  });
});

/**
 * A man in the middle on plain TCP: passes everything through, except that it appends `injected` to the relay's
 * reply to STARTTLS, in the same write (RFC 3207 §6's attack).
 */
async function startInjectingProxy(port: string, injected: string) {
  let injections = 0;
  const server = createServer((client) => {
    const upstream = connect(Number(port), '127.0.0.1');
    let sawStartTls = false;
    let isDone = false;
    client.on('data', (chunk: Buffer) => {
      if (!isDone && chunk.toString('latin1').toUpperCase().includes('STARTTLS')) sawStartTls = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (sawStartTls && !isDone && chunk.toString('latin1').startsWith('220')) {
        isDone = true;
        injections += 1;
        client.write(Buffer.concat([chunk, Buffer.from(injected, 'latin1')]));
        return;
      }
      client.write(chunk);
    });
    for (const socket of [client, upstream]) {
      socket.on('error', () => undefined);
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `smtp://127.0.0.1:${(server.address() as AddressInfo).port}`, injections: () => injections };
}
