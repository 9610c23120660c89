/** The raw SMTP mailer: pre-built bytes out unchanged, refusals and failures shaped for classifySmtpReply. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { classifySmtpReply } from '../../src/smtp/classify-smtp-reply.js';
import { createRawSmtpMailer, type RawSmtpMailerOptions } from '../../src/smtp/raw-smtp-mailer.js';
import { dotStuffedSlices } from '../../src/smtp/dot-stuffing.js';
import { startFaultySmtp } from '../helpers/faulty-smtp.js';
import { waitUntil } from '../helpers/wait-until.js';
import { smtpReply, startSmtpSink } from '../helpers/smtp-sink.js';

/** A message whose body has every line start SMTP must escape: a lone dot, dotted lines, a dotted last line. */
function messageFor(to: string, marker: string): Buffer {
  return Buffer.from(
    [
      'From: "The Harbour Gazette" <newsletter@harbourgazette.example>',
      `To: ${to}`,
      'Subject: Dots',
      `Message-ID: <${marker}@harbourgazette.example>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      '.',
      '..two dots',
      '.</p> a dotted QP line',
      `middle ${marker}`,
      '.',
      'end',
      '',
    ].join('\r\n'),
  );
}

const FROM = 'newsletter@harbourgazette.example';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function sinkFor(options: Parameters<typeof startSmtpSink>[0] = {}) {
  const sink = await startSmtpSink(options);
  cleanups.push(sink.close);
  return sink;
}

function mailerFor(url: string, poolSize = 2, timeoutMs = 5_000, options: Partial<RawSmtpMailerOptions> = {}) {
  const mailer = createRawSmtpMailer({
    url,
    poolSize,
    connectTimeoutMs: timeoutMs,
    commandTimeoutMs: timeoutMs,
    finalDotTimeoutMs: timeoutMs,
    ...options,
  });
  cleanups.push(() => mailer.close());
  return mailer;
}

describe('raw SMTP mailer', () => {
  it('delivers every message byte for byte, dotted lines included, over a small pool of connections', async () => {
    const sink = await sinkFor();
    const mailer = mailerFor(sink.url, 3);
    const sent = Array.from({ length: 20 }, (_, i) => ({
      to: `reader${i}@example.org`,
      raw: messageFor(`reader${i}@example.org`, `m${i}`),
    }));
    const results = await Promise.all(sent.map((m) => mailer.send({ envelope: { from: FROM, to: m.to }, raw: m.raw })));

    expect(results.every((r) => classifySmtpReply(r).kind === 'ok')).toBe(true);
    expect(results[0]?.accepted).toEqual(['reader0@example.org']);
    expect(sink.messages).toHaveLength(20);
    for (const message of sink.messages) {
      const original = sent.find((m) => m.to === message.envelopeTo[0]);
      expect(message.envelopeFrom).toBe(FROM);
      expect(message.raw.equals(original?.raw ?? Buffer.alloc(0))).toBe(true);
    }
  });

  it('sends a message given in chunks (shared frozen pieces and per-reader values) without joining it', async () => {
    const sink = await sinkFor();
    const mailer = mailerFor(sink.url, 2);
    const whole = messageFor('reader@example.org', 'chunked');
    const shared = Buffer.concat([whole.subarray(0, 120), Buffer.alloc(5_000, 'a'), Buffer.from('\r\n.dot line\r\n')]);
    const raw = Buffer.concat([shared, whole.subarray(120)]);
    for (let i = 0; i < 3; i += 1) {
      const message = {
        envelope: { from: FROM, to: 'reader@example.org' },
        chunks: [shared, whole.subarray(120, 200), whole.subarray(200)],
        get raw(): Buffer {
          throw new Error('the raw mailer must not join the chunks');
        },
      };
      await mailer.send(message);
    }
    expect(sink.messages).toHaveLength(3);
    for (const received of sink.messages) expect(received.raw.equals(raw)).toBe(true);
  });

  it('a refused mailbox is thrown with the reply for classifySmtpReply, and the connection carries on', async () => {
    const sink = await sinkFor({
      onRecipient: (address) =>
        address.startsWith('gone') ? smtpReply(550, '5.1.1 <gone@example.org>: user unknown') : undefined,
    });
    const mailer = mailerFor(sink.url, 1);
    const refused = await mailer
      .send({ envelope: { from: FROM, to: 'gone@example.org' }, raw: messageFor('gone@example.org', 'a') })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'EENVELOPE', responseCode: 550 });
    expect(classifySmtpReply(refused)).toMatchObject({ kind: 'permanent-mailbox', code: 550, enhancedCode: '5.1.1' });
    expect(classifySmtpReply(refused).message).not.toContain('gone@example.org');

    await mailer.send({ envelope: { from: FROM, to: 'here@example.org' }, raw: messageFor('here@example.org', 'b') });
    expect(sink.messages.map((m) => m.envelopeTo[0])).toEqual(['here@example.org']);
  });

  it('a message refused after DATA is a transient or permanent refusal by its code', async () => {
    let replyCode = 451;
    const sink = await sinkFor({
      onMessage: () => {
        throw smtpReply(replyCode, replyCode === 451 ? '4.3.0 try again later' : '5.7.1 message content rejected');
      },
    });
    const mailer = mailerFor(sink.url, 1);
    const send = () =>
      mailer
        .send({ envelope: { from: FROM, to: 'reader@example.org' }, raw: messageFor('reader@example.org', 'c') })
        .catch((e: unknown) => e);
    expect(classifySmtpReply(await send())).toMatchObject({ kind: 'transient', code: 451, isRelayUnavailable: false });
    replyCode = 554;
    expect(classifySmtpReply(await send())).toMatchObject({ kind: 'permanent-other', code: 554 });
  });

  it('a relay that is down is reported as unavailable', async () => {
    const probe = await sinkFor();
    const port = probe.port;
    await probe.close();
    cleanups.pop();
    const mailer = mailerFor(`smtp://127.0.0.1:${port}`, 2);
    const error = await mailer
      .send({ envelope: { from: FROM, to: 'reader@example.org' }, raw: messageFor('reader@example.org', 'd') })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ECONNECTION' });
    expect(classifySmtpReply(error).isRelayUnavailable).toBe(true);
  });

  it('a 421 in answer to the data closes that connection: the message is retried later, the next one opens a new connection', async () => {
    let isClosing = true;
    const sink = await sinkFor({
      onMessage: () => {
        if (isClosing) {
          isClosing = false;
          throw smtpReply(421, '4.3.2 shutting down');
        }
      },
    });
    const mailer = mailerFor(sink.url, 1);
    const first = await mailer
      .send({ envelope: { from: FROM, to: 'one@example.org' }, raw: messageFor('one@example.org', 'e') })
      .catch((e: unknown) => e);
    expect(classifySmtpReply(first)).toMatchObject({ kind: 'transient', isRelayUnavailable: true });
    await mailer.send({ envelope: { from: FROM, to: 'two@example.org' }, raw: messageFor('two@example.org', 'f') });
    expect(sink.messages.map((m) => m.envelopeTo[0])).toEqual(['two@example.org']);
  });

  it('a connection dropped in the middle of DATA fails that message only, as the relay being unavailable; the next one goes out', async () => {
    const relay = await startFaultySmtp({ plan: { dropShare: 1 } });
    cleanups.push(() => relay.close());
    const mailer = mailerFor(relay.url, 1);
    const big = Buffer.concat([
      messageFor('one@example.org', 'drop'),
      Buffer.alloc(256 * 1024, 'a'),
      Buffer.from('\r\n'),
    ]);
    const dropped = await mailer
      .send({ envelope: { from: FROM, to: 'one@example.org' }, raw: big })
      .catch((e: unknown) => e);
    expect(relay.stats.dropped).toBe(1);
    expect(classifySmtpReply(dropped)).toMatchObject({ kind: 'transient', isRelayUnavailable: true });
    relay.configure({});
    await mailer.send({ envelope: { from: FROM, to: 'two@example.org' }, raw: messageFor('two@example.org', 'next') });
    expect(relay.accepted.map((m) => m.recipient)).toEqual(['two@example.org']);
  });

  it('a relay that never answers times out as a transient failure', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => {
      sockets.push(socket);
      socket.write('220 silent.example ESMTP\r\n');
      socket.on('data', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          silent.close(() => resolve());
        }),
    );
    const mailer = mailerFor(`smtp://127.0.0.1:${(silent.address() as AddressInfo).port}`, 1, 300);
    const error = await mailer
      .send({ envelope: { from: FROM, to: 'reader@example.org' }, raw: messageFor('reader@example.org', 'g') })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ETIMEDOUT' });
    expect(classifySmtpReply(error)).toMatchObject({ kind: 'transient', isRelayUnavailable: true });
  });

  it('logs in with the user and password of the relay URL (PLAIN and LOGIN), and refuses on wrong credentials', async () => {
    for (const method of ['PLAIN', 'LOGIN']) {
      const received: string[] = [];
      const server = new SMTPServer({
        authMethods: [method],
        allowInsecureAuth: true,
        disabledCommands: ['STARTTLS'],
        disableReverseLookup: true,
        logger: false,
        onAuth(auth, _session, callback) {
          if (auth.username === 'desk' && auth.password === 's3cret: x') callback(null, { user: 'desk' });
          else callback(smtpReply(535, '5.7.8 authentication failed'));
        },
        onData(stream, session, callback) {
          stream.on('data', () => {});
          stream.on('end', () => {
            received.push(String(session.user));
            callback();
          });
        },
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const port = (server.server.address() as AddressInfo).port;

      // A relay on this host without TLS: only with plain-text login allowed (see smtp-session.test.ts).
      const plainText = { allowPlaintextAuth: true };
      const good = mailerFor(`smtp://desk:${encodeURIComponent('s3cret: x')}@127.0.0.1:${port}`, 1, 5_000, plainText);
      await good.send({
        envelope: { from: FROM, to: 'reader@example.org' },
        raw: messageFor('reader@example.org', 'h'),
      });
      expect(received).toEqual(['desk']);

      const bad = mailerFor(`smtp://desk:wrong@127.0.0.1:${port}`, 1, 5_000, plainText);
      const error = await bad
        .send({ envelope: { from: FROM, to: 'reader@example.org' }, raw: messageFor('reader@example.org', 'i') })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'EAUTH', responseCode: 535 });
      // The relay refusing the login is never a reader's failure: the digest pauses instead (see deliver-batch).
      expect(classifySmtpReply(error).kind).toBe('relay-refused');
    }
  });

  it('upgrades to TLS when the relay offers STARTTLS, speaks TLS from the start on smtps, and refuses a certificate it cannot trust', async (context) => {
    const certificate = selfSignedCertificate();
    if (!certificate) {
      context.skip('openssl is not installed: the TLS cases need a self-signed certificate');
      return;
    }
    for (const secure of [false, true]) {
      const sessions: boolean[] = [];
      const server = new SMTPServer({
        secure,
        key: certificate.key,
        cert: certificate.cert,
        authOptional: true,
        disableReverseLookup: true,
        logger: false,
        onData(stream, session, callback) {
          stream.on('data', () => {});
          stream.on('end', () => {
            sessions.push(session.secure);
            callback();
          });
        },
      });
      server.on('error', () => {});
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const base = `${secure ? 'smtps' : 'smtp'}://127.0.0.1:${(server.server.address() as AddressInfo).port}`;

      const trusting = mailerFor(`${base}?tls.rejectUnauthorized=false`, 1);
      await trusting.send({
        envelope: { from: FROM, to: 'reader@example.org' },
        raw: messageFor('reader@example.org', 'tls'),
      });
      expect(sessions).toEqual([true]);

      const strict = mailerFor(base, 1);
      const error = await strict
        .send({ envelope: { from: FROM, to: 'reader@example.org' }, raw: messageFor('reader@example.org', 'strict') })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ETLS' });
      expect(classifySmtpReply(error)).toMatchObject({ kind: 'relay-refused', isRelayUnavailable: true });
      expect(sessions).toHaveLength(1);
    }
  });

  it('refuses an envelope address that would inject SMTP commands', async () => {
    const sink = await sinkFor();
    const mailer = mailerFor(sink.url, 1);
    const error = await mailer
      .send({
        envelope: { from: FROM, to: 'reader@example.org>\r\nRCPT TO:<other@example.org' },
        raw: messageFor('x@example.org', 'j'),
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EENVELOPE' });
    expect(sink.messages).toHaveLength(0);
  });
});

describe('the connection pool', () => {
  /** A relay that counts connections and QUITs, accepting everything. */
  async function countingRelay(options: { onAuth?: boolean } = {}) {
    const seen = { connections: 0, closed: 0, logins: 0 };
    const server = new SMTPServer({
      authOptional: !options.onAuth,
      authMethods: ['PLAIN'],
      allowInsecureAuth: true,
      disabledCommands: options.onAuth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
      disableReverseLookup: true,
      logger: false,
      onConnect: (_session, callback) => {
        seen.connections += 1;
        callback();
      },
      onClose: () => {
        seen.closed += 1;
      },
      onAuth: (_auth, _session, callback) => {
        seen.logins += 1;
        callback(smtpReply(535, '5.7.8 authentication failed'));
      },
      onData: (stream, _session, callback) => {
        stream.on('data', () => {});
        stream.on('end', () => callback());
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return { seen, port: (server.server.address() as AddressInfo).port };
  }
  const send = (mailer: ReturnType<typeof mailerFor>, i: number) =>
    mailer.send({ envelope: { from: FROM, to: `r${i}@example.org` }, raw: messageFor(`r${i}@example.org`, `p${i}`) });

  it('a connection carries at most maxMessagesPerConnection messages, then a fresh one takes over', async () => {
    const relay = await countingRelay();
    const mailer = mailerFor(`smtp://127.0.0.1:${relay.port}`, 1, 5_000, { maxMessagesPerConnection: 2 });
    for (let i = 0; i < 5; i += 1) await send(mailer, i);
    expect(relay.seen.connections).toBe(3);
  });

  it('a connection left idle is closed after idleTimeoutMs, and the next message opens a new one', async () => {
    const relay = await countingRelay();
    const mailer = mailerFor(`smtp://127.0.0.1:${relay.port}`, 1, 5_000, { idleTimeoutMs: 100 });
    await send(mailer, 1);
    await waitUntil('the idle connection to be closed', () => relay.seen.closed === 1);
    await send(mailer, 2);
    expect(relay.seen.connections).toBe(2);
  });

  it('a relay that refuses the login sees one attempt, not one per message waiting: they all fail with that refusal', async () => {
    const relay = await countingRelay({ onAuth: true });
    const mailer = mailerFor(`smtp://desk:wrong@127.0.0.1:${relay.port}`, 5, 5_000, { allowPlaintextAuth: true });
    const outcomes = await Promise.all([1, 2, 3, 4, 5].map((i) => send(mailer, i).catch((e: unknown) => e)));
    expect(outcomes.map((e) => classifySmtpReply(e).kind)).toEqual(Array(5).fill('relay-refused'));
    expect(relay.seen.logins).toBe(1);
  });
});

/** A throwaway self-signed certificate, or undefined without openssl. */
function selfSignedCertificate(): { key: Buffer; cert: Buffer } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'lp-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('dot-stuffing', () => {
  const stuffed = (text: string) => Buffer.concat(dotStuffedSlices(Buffer.from(text, 'latin1'))).toString('latin1');

  it('doubles a dot at the start of any line and ends the data', () => {
    expect(stuffed('.a\r\nb\r\n.\r\n..c\r\n')).toBe('..a\r\nb\r\n..\r\n...c\r\n.\r\n');
  });

  it('turns a bare CR or LF before a dot into CRLF, so no receiver sees an early end of data', () => {
    expect(stuffed('x\r.\r\ny\r\n')).toBe('x\r\n..\r\ny\r\n.\r\n');
    expect(stuffed('a\n.\nb\r\n')).toBe('a\r\n..\nb\r\n.\r\n');
  });

  it('gives the same bytes however the message is cut into chunks', () => {
    /** The rule, byte by byte: a bare CR or LF before a dot becomes CRLF, a dot opening a line is doubled. */
    const reference = (input: Buffer): Buffer => {
      const out: number[] = [];
      for (let i = 0; i < input.length; i += 1) {
        const byte = input[i] as number;
        if (byte === 0x2e) {
          const previous = i > 0 ? input[i - 1] : undefined;
          const isBareBreak = previous === 0x0d || (previous === 0x0a && (i < 2 || input[i - 2] !== 0x0d));
          if (isBareBreak) out.splice(out.length - 1, 1, 0x0d, 0x0a);
          if (i === 0 || previous === 0x0a || previous === 0x0d) out.push(0x2e);
        }
        out.push(byte);
      }
      const n = input.length;
      if (n < 2 || input[n - 2] !== 0x0d || input[n - 1] !== 0x0a) out.push(0x0d, 0x0a);
      out.push(0x2e, 0x0d, 0x0a);
      return Buffer.from(out);
    };
    const bytes = fc.array(fc.constantFrom(0x2e, 0x0d, 0x0a, 0x61), { maxLength: 40 });
    fc.assert(
      fc.property(bytes, fc.array(fc.nat({ max: 40 }), { maxLength: 6 }), (values, cuts) => {
        const whole = Buffer.from(values);
        const points = [...new Set(cuts.map((c) => Math.min(c, whole.length)))].sort((a, b) => a - b);
        const chunks = [0, ...points].map((from, i) => whole.subarray(from, points[i] ?? whole.length));
        const expected = reference(whole);
        expect(Buffer.concat(dotStuffedSlices(whole)).equals(expected)).toBe(true);
        expect(Buffer.concat(dotStuffedSlices(chunks)).equals(expected)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it('adds the missing final line break before the terminating dot', () => {
    expect(stuffed('no newline')).toBe('no newline\r\n.\r\n');
    expect(stuffed('')).toBe('\r\n.\r\n');
  });
});
