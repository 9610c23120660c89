/**
 * One delivery range run twice at once, as BullMQ can do when a worker is paused past its job lock and the job is
 * handed to another worker while the first resumes: real Redis (own prefix), a real SMTP server, the real ledger.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { deliverBatch, type DeliverBatchLedger } from '../../src/delivery/deliver-batch.js';
import type { Mailer } from '../../src/smtp/mailer.js';
import { createRawSmtpMailer } from '../../src/smtp/raw-smtp-mailer.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';
import {
  batchDeps,
  countByRecipient,
  digestInOneRange,
  startDeliveryBench,
  type DeliveryBench,
} from './delivery-fixture.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const READERS = 40;

/** A bench with READERS readers and a digest already fanned out to them in one range (ids 1..READERS). */
async function sendingRange() {
  const sink = await startSmtpSink();
  cleanups.push(sink.close);
  const bench = await startDeliveryBench({ smtpUrl: sink.url, env: { DELIVERY_BATCH_SIZE: String(READERS) } });
  cleanups.push(bench.close);
  const { digest, payload } = await digestInOneRange(bench, READERS);
  // The built-in client production sends with, slowed a little per message, like a real relay.
  const smtp = createRawSmtpMailer({ url: sink.url, poolSize: 8 });
  cleanups.push(smtp.close);
  const mailer: Mailer = {
    send: async (message) => {
      await sleep(20);
      return smtp.send(message);
    },
  };
  return { sink, bench, digest, mailer, payload };
}

/** The app's ledger with its recipient check wrapped. */
function ledgerWithCheck(bench: DeliveryBench, check: DeliverBatchLedger['checkRecipient']): DeliverBatchLedger {
  const ledger = bench.app.ledger;
  return {
    readRange: (...args) => ledger.readRange(...args),
    getStatus: (digestId) => ledger.getStatus(digestId),
    checkRecipient: check,
    recordOutcome: (input) => ledger.recordOutcome(input),
    takeLease: (...args) => ledger.takeLease(...args),
    releaseLease: (...args) => ledger.releaseLease(...args),
    transition: (...args) => ledger.transition(...args),
  };
}

describe('a delivery range run by two workers at once', () => {
  it('the worker that had the range first stops once the second takes over: every reader gets exactly one copy', async () => {
    const { sink, bench, digest, mailer, payload } = await sendingRange();
    const { ledger } = bench.app;
    let secondIsChecking!: () => void;
    const secondStarted = new Promise<void>((resolve) => (secondIsChecking = resolve));
    let firstChecks = 0;
    // The first runner sends three readers, then, between two messages, the second runner starts on the same range.
    const firstLedger = ledgerWithCheck(bench, async (...args) => {
      firstChecks += 1;
      if (firstChecks === 4) await secondStarted;
      return ledger.checkRecipient(...args);
    });
    const secondLedger = ledgerWithCheck(bench, async (...args) => {
      secondIsChecking();
      return ledger.checkRecipient(...args);
    });

    const first = deliverBatch(batchDeps(bench, mailer, { ledger: firstLedger, lanes: 1 }), payload);
    await sleep(0);
    while (sink.messages.length < 3) await sleep(5);
    const second = deliverBatch(batchDeps(bench, mailer, { ledger: secondLedger, lanes: 2 }), payload);
    const [firstResult, secondResult] = await Promise.all([first, second]);

    expect(firstResult).toMatchObject({ kind: 'deferred', reason: 'lease-lost', counts: { delivered: 3 } });
    expect(secondResult).toMatchObject({ kind: 'done', counts: { delivered: READERS - 3 } });
    expect(sink.messages).toHaveLength(READERS);
    const perReader = countByRecipient(sink.messages);
    expect(perReader.size).toBe(READERS);
    expect([...perReader.values()].every((n) => n === 1)).toBe(true);
    const settled = await bench.app.digests.get(digest.id);
    expect(settled?.status).toBe('sent');
    expect(settled?.counts).toMatchObject({ recipients: READERS, delivered: READERS });
    // The range's lease is gone once its last runner is done.
    expect(await bench.app.redis.exists(bench.app.keys.digestLease(digest.id, payload.fromId))).toBe(0);
  });

  it('two runs of one range started 50 ms apart: at most the first run’s messages in flight go out twice', async () => {
    const { sink, bench, digest, mailer, payload } = await sendingRange();
    const lanes = 4;
    const first = deliverBatch(batchDeps(bench, mailer, { lanes }), payload);
    await sleep(50);
    const second = deliverBatch(batchDeps(bench, mailer, { lanes }), payload);
    await Promise.all([first, second]);

    const perReader = countByRecipient(sink.messages);
    expect(perReader.size).toBe(READERS);
    expect(sink.messages.length).toBeLessThanOrEqual(READERS + lanes);
    expect((await bench.app.digests.get(digest.id))?.counts).toMatchObject({ recipients: READERS, delivered: READERS });
  });
});
