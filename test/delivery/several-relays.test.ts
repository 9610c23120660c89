/**
 * A digest sent through several relays (SMTP_URL lists them): split by weight, every reader once; a relay that dies
 * mid-send is set aside and its readers go through the other, and it is used again once back; a digest pauses only
 * when no relay will have us. Real Redis (own prefix), real BullMQ workers in this process, real SMTP servers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sendDigest } from '../../src/delivery/send-digest.js';
import { deliverBatch } from '../../src/delivery/deliver-batch.js';
import { waitForDigestSettled } from '../../src/delivery/wait-for-digest.js';
import type { RelayPool } from '../../src/smtp/relay-pool.js';
import { startSmtpSink, smtpReply, type ReceivedMessage } from '../helpers/smtp-sink.js';
import { startFaultySmtp, type AcceptedMessage } from '../helpers/faulty-smtp.js';
import { waitUntil } from '../helpers/wait-until.js';
import { auditDelivery } from '../reliability/audit-delivery.js';
import { bitmapIds } from '../reliability/send-rig.js';
import {
  batchDeps,
  countByRecipient,
  digestInOneRange,
  recordingLogger,
  startDeliveryBench,
  type DeliveryBench,
} from './delivery-fixture.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function relay(options: Parameters<typeof startSmtpSink>[0] = {}) {
  // Closing drops open connections after 50 ms (with a 421), as a relay that goes away does.
  const sink = await startSmtpSink({ ...options, server: { closeTimeout: 50, ...options.server } });
  let isClosed = false;
  const close = async () => {
    if (isClosed) return;
    isClosed = true;
    await sink.close();
  };
  cleanups.push(close);
  return { ...sink, close };
}

async function bench(smtpUrl: string, env: Record<string, string> = {}, logger?: ReturnType<typeof recordingLogger>) {
  const started = await startDeliveryBench({ smtpUrl, env, logger: logger?.logger });
  cleanups.push(started.close);
  return started;
}

async function sendAndWait(running: DeliveryBench, digestId: string) {
  await sendDigest(running.app, { digestId });
  return waitForDigestSettled(running.app, digestId, { timeoutMs: 45_000 });
}

/** The reliability audit over what both relays accepted and what the digest's ledger says. */
async function auditBothRelays(
  running: DeliveryBench,
  digestId: string,
  readers: { id: number; email: string }[],
  accepted: AcceptedMessage[],
) {
  const { app } = running;
  const [sent, failed, skipped] = await Promise.all([
    app.redis.getBuffer(app.keys.digestSent(digestId)),
    app.redis.getBuffer(app.keys.digestFailed(digestId)),
    app.redis.getBuffer(app.keys.digestSkipped(digestId)),
  ]);
  return auditDelivery({
    recipients: readers,
    removed: new Set(),
    permanentlyRefused: new Set(),
    accepted,
    digest: await app.digests.get(digestId),
    ledger: { sent: bitmapIds(sent), failed: bitmapIds(failed), skipped: bitmapIds(skipped) },
    suppressed: new Set(),
  });
}

/** Every reader exactly once across what all relays accepted. */
function expectEveryReaderOnce(readers: { email: string }[], ...accepted: ReceivedMessage[][]) {
  const counts = countByRecipient(accepted.flat());
  expect(counts.size).toBe(readers.length);
  for (const reader of readers) expect(counts.get(reader.email), reader.email).toBe(1);
}

describe('a digest sent through several relays', () => {
  it('is split by weight (1:3) between two relays, every reader once', async () => {
    const light = await relay();
    const heavy = await relay();
    const running = await bench(`${light.url}?weight=1,${heavy.url}?weight=3`);
    const readers = await running.addReaders(80);
    const digest = await running.createDigest(['Harbour wall repairs begin in spring']);
    await running.startWorkers();

    const settled = await sendAndWait(running, digest.id);

    expect(settled.status).toBe('sent');
    expect(settled.counts).toEqual({ recipients: 80, delivered: 80, failed: 0, skipped: 0 });
    expectEveryReaderOnce(readers, light.messages, heavy.messages);
    expect(light.messages.length).toBeGreaterThanOrEqual(16);
    expect(light.messages.length).toBeLessThanOrEqual(24);
  });

  it('reaches every reader once when one relay dies mid-send, none failed, and uses it again once it is back after the set-aside period', async () => {
    // Two relays that record what they accept and whether their 250 reached us; one is cut mid-send.
    const dying = await startFaultySmtp({ plan: { replyDelayMs: 2 } });
    cleanups.push(dying.close);
    const steady = await startFaultySmtp({ plan: { replyDelayMs: 2 } });
    cleanups.push(steady.close);
    const log = recordingLogger();
    const running = await bench(
      `${dying.url},${steady.url}`,
      { SMTP_RELAY_SET_ASIDE_MS: '300', SMTP_RELAY_SET_ASIDE_MAX_MS: '600' },
      log,
    );
    const readers = await running.addReaders(150);
    const first = await running.createDigest(['Harbour wall repairs begin in spring']);
    await running.startWorkers();

    await sendDigest(running.app, { digestId: first.id });
    await waitUntil('the relay to accept some messages', async () => dying.accepted.length >= 10, { intervalMs: 2 });
    await dying.setDown(true);
    const settled = await waitForDigestSettled(running.app, first.id, { timeoutMs: 45_000 });

    expect(settled.status).toBe('sent');
    expect(settled.counts).toEqual({ recipients: 150, delivered: 150, failed: 0, skipped: 0 });
    const audit = await auditBothRelays(running, first.id, readers, [...dying.accepted, ...steady.accepted]);
    expect(audit.problems).toEqual([]);
    expect(audit).toMatchObject({ reached: 150, lost: 0, failed: 0 });
    // Once: a second copy only where the dying relay took a message and was cut before its 250 reached us (RFC
    // 1047; no SMTP client can tell), which the audit counts apart.
    expect(audit.duplicates).toBe(audit.duplicatesAfterLostReply);
    expect(steady.accepted.length).toBeGreaterThan(70);
    const dyingLabel = `127.0.0.1:${dying.port}`;
    expect(log.lines.some((line) => line.msg === 'relay set aside' && line.relay === dyingLabel)).toBe(true);
    const health = running.app.sendTelemetry.drain().relays;
    expect(health.map((relayHealth) => relayHealth.relay).sort()).toEqual(
      [dyingLabel, `127.0.0.1:${steady.port}`].sort(),
    );
    expect(health.every((relayHealth) => typeof relayHealth.connections === 'number')).toBe(true);

    // The relay comes back on its port; once its period is over it takes its share of the next digest.
    await dying.setDown(false);
    const pool = running.app.mailer as RelayPool;
    await waitUntil('the dead relay to be out of its set-aside', async () => !pool.relayStatus()[0]?.isSetAside);
    const [dyingBefore, steadyBefore] = [dying.accepted.length, steady.accepted.length];
    const second = await running.createDigest(['Ferry timetable changes for winter']);

    const settledAgain = await sendAndWait(running, second.id);

    expect(settledAgain.counts).toEqual({ recipients: 150, delivered: 150, failed: 0, skipped: 0 });
    const again = [...dying.accepted.slice(dyingBefore), ...steady.accepted.slice(steadyBefore)];
    const auditAgain = await auditBothRelays(running, second.id, readers, again);
    expect(auditAgain.problems).toEqual([]);
    expect(auditAgain).toMatchObject({ delivered: 150, duplicates: 0, lost: 0 });
    // Its share, less what the other took while its first connection opened (its trial message).
    expect(dying.accepted.length - dyingBefore).toBeGreaterThanOrEqual(20);
    expect(log.lines.some((line) => line.msg === 'relay back in use' && line.relay === dyingLabel)).toBe(true);
  }, 60_000);

  it('goes on through the other relay when one refuses the login, without pausing', async () => {
    const refusing = await relay({
      server: {
        disabledCommands: ['STARTTLS'],
        authOptional: false,
        allowInsecureAuth: true,
        onAuth: (_auth, _session, callback) => callback(smtpReply(535, '5.7.8 Authentication credentials invalid')),
      },
    });
    const fine = await relay();
    const running = await bench(`smtp://desk:secret@127.0.0.1:${refusing.port},${fine.url}`, {
      SMTP_ALLOW_PLAINTEXT_AUTH: 'true',
    });
    const readers = await running.addReaders(30);
    const digest = await running.createDigest(['Library extends its opening hours']);
    await running.startWorkers();

    const settled = await sendAndWait(running, digest.id);

    expect(settled.status).toBe('sent');
    expect(settled.counts).toEqual({ recipients: 30, delivered: 30, failed: 0, skipped: 0 });
    expectEveryReaderOnce(readers, fine.messages);
    expect(refusing.messages).toEqual([]);
  });

  it('pauses with the reason, every reader pending, when every relay refuses the login (as one relay does)', async () => {
    const refusingRelay = () =>
      relay({
        server: {
          disabledCommands: ['STARTTLS'],
          authOptional: false,
          allowInsecureAuth: true,
          onAuth: (_auth, _session, callback) => callback(smtpReply(535, '5.7.8 Authentication credentials invalid')),
        },
      });
    const [a, b] = [await refusingRelay(), await refusingRelay()];
    const running = await bench(`smtp://desk:secret@127.0.0.1:${a.port},smtp://desk:secret@127.0.0.1:${b.port}`, {
      SMTP_ALLOW_PLAINTEXT_AUTH: 'true',
      DELIVERY_BATCH_SIZE: '6',
    });
    const { digest, payload } = await digestInOneRange(running, 6);

    const result = await deliverBatch(batchDeps(running, running.app.mailer, { lanes: 3 }), payload);

    expect(result).toMatchObject({
      kind: 'deferred',
      reason: 'paused',
      counts: { delivered: 0, failed: 0, skipped: 0 },
    });
    const stored = await running.app.digests.get(digest.id);
    expect(stored?.status).toBe('paused');
    expect(stored?.pausedReason).toMatch(/relay 127\.0\.0\.1:\d+: the relay refused the login: 535 5\.7\.8/);
    expect(stored?.pausedReason).not.toContain('secret');
    expect(stored?.counts).toMatchObject({ delivered: 0, failed: 0, skipped: 0 });
    expect(await running.app.ledger.listFailures(digest.id)).toEqual([]);
    expect(await running.app.subscribers.countActive('daily')).toBe(6);
    expect([...a.messages, ...b.messages]).toEqual([]);
  });
});
