/**
 * A relay that refuses the session itself (greeting, HELO, STARTTLS, TLS, "relaying denied") is never a reader's
 * failure: the batch stops, every reader stays pending, and the digest pauses with the relay's reason. Real Redis
 * (own prefix), the real ledger, the built-in client against real or scripted relays; no queue.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { deliverBatch } from '../../src/delivery/deliver-batch.js';
import { createRawSmtpMailer } from '../../src/smtp/raw-smtp-mailer.js';
import { ordinaryReply, startScriptedSmtp, type SmtpScript } from '../helpers/scripted-smtp.js';
import { smtpReply } from '../helpers/smtp-sink.js';
import { batchDeps, digestInOneRange, startDeliveryBench } from './delivery-fixture.js';

const READERS = 6;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function smtpServer(options: SMTPServerOptions): Promise<string> {
  const server = new SMTPServer({ authOptional: true, disableReverseLookup: true, logger: false, ...options });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `${options.secure ? 'smtps' : 'smtp'}://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
}

async function scripted(script: SmtpScript): Promise<string> {
  const relay = await startScriptedSmtp(script);
  cleanups.push(relay.close);
  return relay.url;
}

const relays: [string, () => Promise<string>, RegExp][] = [
  [
    'a greeting of 554',
    () => smtpServer({ onConnect: (_s, callback) => callback(smtpReply(554, '5.7.1 No service for this client')) }),
    /refused the connection: 554 5\.7\.1/,
  ],
  [
    'EHLO and HELO refused',
    () => scripted((line) => (/^(EHLO|HELO)/.test(line) ? '501 5.5.4 Bad hostname\r\n' : ordinaryReply(line))),
    /refused HELO: 501/,
  ],
  [
    '"530 must issue STARTTLS" with ignoreTLS=true',
    async () =>
      `${await smtpServer({
        onMailFrom: (_a, session, callback) =>
          callback(session.secure ? undefined : smtpReply(530, '5.7.0 Must issue a STARTTLS command first')),
      })}?ignoreTLS=true`,
    /530 5\.7\.0 Must issue a STARTTLS/,
  ],
  [
    'a TLS certificate it cannot trust',
    () => smtpServer({ secure: true }),
    /connection to the relay failed: .*certificate/,
  ],
  [
    'relaying denied at RCPT TO',
    () => scripted((line) => (line.startsWith('RCPT') ? '554 5.7.1 Relay access denied\r\n' : ordinaryReply(line))),
    /Relay access denied/,
  ],
];

describe('a relay that refuses the session', () => {
  it.each(relays)('(%s) pauses the digest with its reason and records no reader', async (_what, startRelay, reason) => {
    const url = await startRelay();
    const bench = await startDeliveryBench({ smtpUrl: url, env: { DELIVERY_BATCH_SIZE: String(READERS) } });
    cleanups.push(bench.close);
    const { digest, payload } = await digestInOneRange(bench, READERS);
    const mailer = createRawSmtpMailer({ url, poolSize: 3 });
    cleanups.push(() => mailer.close());

    const result = await deliverBatch(batchDeps(bench, mailer, { lanes: 3 }), payload);

    expect(result).toMatchObject({
      kind: 'deferred',
      reason: 'paused',
      counts: { delivered: 0, failed: 0, skipped: 0 },
    });
    const stored = await bench.app.digests.get(digest.id);
    expect(stored?.status).toBe('paused');
    expect(stored?.pausedReason).toMatch(reason);
    expect(stored?.pausedReason).not.toMatch(/reader-\d+@/);
    expect(stored?.counts).toMatchObject({ delivered: 0, failed: 0, skipped: 0 });
    expect(await bench.app.ledger.listFailures(digest.id)).toEqual([]);
    expect(await bench.app.subscribers.countActive('daily')).toBe(READERS);
  });
});
