/**
 * Several relays behind one mailer: messages spread by weight, a failing relay set aside (with backoff) while the
 * others carry its messages, and taken back after the period. Real SMTP servers on loopback ports, the real
 * built-in client; the backoff arithmetic with a clock of the test's own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config.js';
import { classifySmtpReply } from '../../src/smtp/classify-smtp-reply.js';
import type { ClosableMailer } from '../../src/smtp/mailer.js';
import { createRelayPool } from '../../src/smtp/relay-pool.js';
import { createMailerFromConfig } from '../../src/smtp/smtp-mailer.js';
import { SmtpSendError } from '../../src/smtp/smtp-session.js';
import { startSmtpSink, smtpReply } from '../helpers/smtp-sink.js';
import { waitUntil } from '../helpers/wait-until.js';

const RAW = Buffer.from('From: news@harbourgazette.example\r\nSubject: Today\r\n\r\nHello\r\n');
const message = (n: number) => ({
  envelope: { from: 'news@harbourgazette.example', to: `reader-${n}@example.org` },
  raw: RAW,
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function sink(options: Parameters<typeof startSmtpSink>[0] = {}) {
  const started = await startSmtpSink({ ...options, server: { closeTimeout: 50, ...options.server } });
  cleanups.push(started.close);
  return started;
}

function poolFor(env: Record<string, string>) {
  const mailer = createMailerFromConfig(loadConfig({ SMTP_POOL_SIZE: '4', ...env }));
  cleanups.push(() => mailer.close());
  return mailer;
}

/** Sends messages `from`..`to - 1`, four at a time; returns what each send came to. */
async function sendAll(mailer: ClosableMailer, from: number, to: number) {
  const outcomes: PromiseSettledResult<unknown>[] = [];
  for (let n = from; n < to; n += 4) {
    const batch = [];
    for (let k = n; k < Math.min(n + 4, to); k += 1) batch.push(mailer.send(message(k)));
    outcomes.push(...(await Promise.allSettled(batch)));
  }
  return outcomes;
}

describe('several relays', () => {
  it('spread the messages by weight, each message through exactly one relay', async () => {
    const light = await sink();
    const heavy = await sink();
    const mailer = poolFor({ SMTP_URL: `${light.url}?weight=1, ${heavy.url}?weight=3` });

    const outcomes = await sendAll(mailer, 0, 40);

    expect(outcomes.every((outcome) => outcome.status === 'fulfilled')).toBe(true);
    expect(light.messages).toHaveLength(10);
    expect(heavy.messages).toHaveLength(30);
    const recipients = [...light.messages, ...heavy.messages].map((m) => m.envelopeTo[0]);
    expect(new Set(recipients).size).toBe(40);
    expect(mailer.relayStatus()).toEqual([
      { relay: `127.0.0.1:${light.port}`, weight: 1, isSetAside: false, connections: expect.any(Number) },
      { relay: `127.0.0.1:${heavy.port}`, weight: 3, isSetAside: false, connections: expect.any(Number) },
    ]);
    expect(mailer.relayStatus().reduce((sum, relay) => sum + relay.connections, 0)).toBeGreaterThan(0);
  });

  it('spread by weight with nodemailer too (DKIM or SMTP_MAILER=nodemailer), counting messages in flight as connections', async () => {
    const a = await sink();
    const b = await sink();
    const mailer = poolFor({ SMTP_URL: `${a.url}?weight=2,${b.url}`, SMTP_MAILER: 'nodemailer' });

    const outcomes = await sendAll(mailer, 0, 12);

    expect(outcomes.every((outcome) => outcome.status === 'fulfilled')).toBe(true);
    expect([a.messages.length, b.messages.length]).toEqual([8, 4]);
    expect(mailer.relayStatus().map((relay) => relay.connections)).toEqual([0, 0]);
  });

  it('set aside a relay that cannot be reached, send its messages through the other at once, and take it back after the period', async () => {
    const down = await sink();
    await down.close();
    const up = await sink();
    const mailer = poolFor({ SMTP_URL: `${down.url},${up.url}`, SMTP_RELAY_SET_ASIDE_MS: '300' });

    const first = await sendAll(mailer, 0, 4);

    expect(first.every((outcome) => outcome.status === 'fulfilled')).toBe(true);
    expect(up.messages).toHaveLength(4);
    expect(mailer.relayStatus().map((relay) => relay.isSetAside)).toEqual([true, false]);

    // The relay comes back where it was; after the period it is tried again, and gets its share once it answers.
    const back = await sink({ port: down.port });
    await waitUntil('the set-aside period to end', async () => mailer.relayStatus()[0]?.isSetAside === false);
    const second = await sendAll(mailer, 4, 24);

    expect(second.every((outcome) => outcome.status === 'fulfilled')).toBe(true);
    expect(back.messages.length).toBeGreaterThanOrEqual(6);
    expect(back.messages.length + up.messages.length).toBe(24);
    expect(mailer.relayStatus().map((relay) => relay.isSetAside)).toEqual([false, false]);
  });

  it('when every relay refuses the login, the refusal (naming the relay) is what the send fails with, one login tried per relay', async () => {
    const logins: number[] = [];
    const refusing = () =>
      sink({
        server: {
          disabledCommands: ['STARTTLS'],
          authOptional: false,
          allowInsecureAuth: true,
          onAuth: (_auth, session, callback) => {
            logins.push(session.localPort);
            callback(smtpReply(535, '5.7.8 Authentication credentials invalid'));
          },
        },
      });
    const [a, b] = [await refusing(), await refusing()];
    const url = (port: number) => `smtp://desk:secret@127.0.0.1:${port}`;
    const mailer = poolFor({ SMTP_URL: `${url(a.port)},${url(b.port)}`, SMTP_ALLOW_PLAINTEXT_AUTH: 'true' });

    const error = await mailer.send(message(1)).catch((failure: unknown) => failure);

    const reply = classifySmtpReply(error);
    expect(reply.kind).toBe('relay-refused');
    expect(reply.message).toMatch(/^relay 127\.0\.0\.1:\d+: the relay refused the login: 535 5\.7\.8/);
    expect(reply.message).not.toContain('secret');
    expect(logins.sort()).toEqual([a.port, b.port].sort());
    expect(mailer.relayStatus().map((relay) => relay.isSetAside)).toEqual([true, true]);
    // With none usable, the next message still tries one relay (as with a single relay): a resume is not refused
    // on the strength of an old failure.
    expect(classifySmtpReply(await mailer.send(message(2)).catch((failure: unknown) => failure)).kind).toBe(
      'relay-refused',
    );
    expect(logins).toHaveLength(3);
  });

  it('keep a failing relay aside for longer each time it fails again (capped), and one message at a time on trial', async () => {
    let clock = 0;
    let isDown = true;
    const sentTo: string[] = [];
    let triedA = 0;
    const unreachable = new SmtpSendError('connection to the relay failed: connect ECONNREFUSED', 'ECONNECTION');
    const fake = (name: string, fails: () => boolean): ClosableMailer => ({
      async send() {
        if (name === 'a') triedA += 1;
        await sleep(5);
        if (fails()) throw unreachable;
        sentTo.push(name);
        return { response: '250 OK', accepted: ['x'], rejected: [] };
      },
      close: async () => undefined,
    });
    const pool = createRelayPool({
      relays: [
        { label: 'a:25', weight: 1, mailer: fake('a', () => isDown), isUnsent: (error) => error === unreachable },
        { label: 'b:25', weight: 1, mailer: fake('b', () => false) },
      ],
      setAsideMs: 100,
      setAsideMaxMs: 350,
      now: () => clock,
    });
    const isAsideAt = (at: number) => {
      clock = at;
      return pool.relayStatus()[0]?.isSetAside;
    };
    /** Sends one message at a time until relay a has been tried once more; every message gets through. */
    const sendUntilATried = async () => {
      const before = triedA;
      for (let n = 0; triedA === before; n += 1) {
        await pool.send(message(n));
        expect(n).toBeLessThan(5);
      }
    };

    await sendUntilATried(); // a fails: aside 100 ms; the message goes through b
    expect(sentTo).toEqual(['b']);
    expect([isAsideAt(99), isAsideAt(100)]).toEqual([true, false]);
    await sendUntilATried(); // on trial, fails again: 200 ms
    expect([isAsideAt(299), isAsideAt(300)]).toEqual([true, false]);
    await sendUntilATried(); // 400 ms, capped at 350
    expect([isAsideAt(649), isAsideAt(650)]).toEqual([true, false]);
    expect(sentTo.every((name) => name === 'b')).toBe(true);

    isDown = false;
    sentTo.length = 0;
    // On trial: of six messages at once, a takes one; the rest go to b.
    await Promise.all([0, 1, 2, 3, 4, 5].map((n) => pool.send(message(n))));
    expect(sentTo.filter((name) => name === 'a')).toHaveLength(1);
    sentTo.length = 0;
    // It answered: its share again.
    await Promise.all([0, 1, 2, 3, 4, 5].map((n) => pool.send(message(n))));
    expect(sentTo.filter((name) => name === 'a')).toHaveLength(3);

    // Back in full use, a new failure starts the backoff from the first step.
    isDown = true;
    await sendUntilATried();
    expect([isAsideAt(749), isAsideAt(750)]).toEqual([true, false]);
  });
});
