/** The SMTP edge: pre-built raw messages go out unchanged over a pooled transport, DKIM-signed when configured. */
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { classifySmtpReply } from '../../src/smtp/classify-smtp-reply.js';
import { createSmtpMailer, createMailerFromConfig } from '../../src/smtp/smtp-mailer.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';

const RAW = Buffer.from(
  [
    'From: "The Harbour Gazette" <newsletter@harbourgazette.example>',
    'To: reader@example.org',
    'Subject: Test',
    'Message-ID: <test.1@harbourgazette.example>',
    'List-Unsubscribe: <https://news.harbourgazette.example/unsubscribe/t>',
    'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hello.',
    '',
  ].join('\r\n'),
);
const ENVELOPE = { from: 'newsletter@harbourgazette.example', to: 'reader@example.org' };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe('smtp mailer', () => {
  it('sends the pre-built bytes as they are, to the envelope recipient', async () => {
    const sink = await startSmtpSink();
    cleanups.push(sink.close);
    const mailer = createSmtpMailer({ url: sink.url, poolSize: 2 });
    cleanups.push(mailer.close);
    const results = await Promise.all([
      mailer.send({ envelope: ENVELOPE, raw: RAW }),
      mailer.send({ envelope: ENVELOPE, raw: RAW }),
    ]);
    expect(results[0]?.accepted).toEqual(['reader@example.org']);
    expect(sink.messages).toHaveLength(2);
    expect(sink.messages[0]?.envelopeFrom).toBe(ENVELOPE.from);
    expect(sink.messages[0]?.raw.toString()).toContain('Message-ID: <test.1@harbourgazette.example>');
    expect(sink.messages[0]?.raw.toString()).not.toContain('DKIM-Signature');
  });

  it('signs with DKIM, List-Unsubscribe-Post included, when a key is configured', async () => {
    const sink = await startSmtpSink();
    cleanups.push(sink.close);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const mailer = createSmtpMailer({
      url: sink.url,
      poolSize: 1,
      dkim: {
        domainName: 'harbourgazette.example',
        keySelector: 'lp2026',
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
    });
    cleanups.push(mailer.close);
    await mailer.send({ envelope: ENVELOPE, raw: RAW });
    const signature =
      /DKIM-Signature:[^]*?(?=\r\n\S)/.exec(sink.messages[0]?.raw.toString() ?? '')?.[0].replace(/\r\n\s+/g, ' ') ?? '';
    expect(signature).toContain('d=harbourgazette.example');
    expect(signature).toContain('s=lp2026');
    expect(signature.toLowerCase()).toContain('list-unsubscribe-post');
  });

  it('a refusal is thrown with the SMTP reply, for classifySmtpReply to read', async () => {
    const sink = await startSmtpSink({
      onRecipient: () => Object.assign(new Error('5.1.1 user unknown'), { responseCode: 550 }),
    });
    cleanups.push(sink.close);
    const mailer = createSmtpMailer({ url: sink.url, poolSize: 1 });
    cleanups.push(mailer.close);
    await expect(mailer.send({ envelope: ENVELOPE, raw: RAW })).rejects.toMatchObject({ responseCode: 550 });
  });

  it('nodemailer too keeps the password off a connection without TLS, and says hello with the sender’s domain', async () => {
    const logins: string[] = [];
    const helloNames: string[] = [];
    const server = new SMTPServer({
      authMethods: ['PLAIN'],
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      disableReverseLookup: true,
      logger: false,
      onAuth: (auth, _session, callback) => {
        logins.push(auth.username ?? '');
        callback(null, { user: auth.username });
      },
      onMailFrom: (_address, session, callback) => {
        helloNames.push(session.hostNameAppearsAs);
        callback();
      },
      onData: (stream, _session, callback) => {
        stream.on('data', () => {});
        stream.on('end', () => callback());
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `smtp://desk:s3cret@127.0.0.1:${(server.server.address() as AddressInfo).port}`;
    const config = loadConfig({ SMTP_URL: url, SMTP_MAILER: 'nodemailer' });
    const refusing = createMailerFromConfig(config);
    cleanups.push(refusing.close);
    const error = await refusing.send({ envelope: ENVELOPE, raw: RAW }).catch((e: unknown) => e);
    expect(classifySmtpReply(error).kind).toBe('relay-refused');
    expect(logins).toEqual([]);

    const allowed = createMailerFromConfig({ ...config, smtp: { ...config.smtp, allowPlaintextAuth: true } });
    cleanups.push(allowed.close);
    await allowed.send({ envelope: ENVELOPE, raw: RAW });
    expect(logins).toEqual(['desk']);
    expect(helloNames).toEqual(['harbourgazette.example']);
  });

  it('refuses to start without a relay, saying what to set', () => {
    expect(() =>
      createMailerFromConfig({
        smtp: { ...loadConfig({}).smtp, url: undefined },
        dkim: undefined,
        site: loadConfig({}).site,
      }),
    ).toThrow(/SMTP_URL/);
  });
});
