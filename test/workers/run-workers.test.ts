/** Stopping a worker process: messages in flight finish and are recorded, the rest is handed back, nobody twice. */
import { afterEach, describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/wait-until.js';
import { sendDigest } from '../../src/delivery/send-digest.js';
import { waitForDigestSettled } from '../../src/delivery/wait-for-digest.js';
import { startFaultySmtp } from '../helpers/faulty-smtp.js';
import { startDeliveryBench } from '../delivery/delivery-fixture.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe('runWorkers', () => {
  it('a worker stopped mid-batch records what it had in flight, hands the rest back, and the next worker finishes it', async () => {
    const relay = await startFaultySmtp();
    cleanups.push(relay.close);
    const bench = await startDeliveryBench({
      smtpUrl: relay.url,
      env: { DELIVERY_BATCH_SIZE: '100', SMTP_POOL_SIZE: '2' },
    });
    cleanups.push(bench.close);
    await bench.addReaders(40);
    const digest = await bench.createDigest(['Council approves the new harbour budget']);
    const first = await bench.startWorkers();
    // The relay holds every transaction at RCPT TO, so the batch has messages in flight when the stop comes.
    relay.setHolding(true);
    await sendDigest(bench.app, { digestId: digest.id });
    await waitUntil('two messages held by the relay', () => relay.held().length === 2);
    const stopping = first.close();
    relay.setHolding(false);
    await stopping;

    const handedBack = await bench.app.digests.get(digest.id);
    expect(handedBack?.status).toBe('sending');
    // Everything the relay accepted before the stop is recorded; nothing more was taken after it.
    expect(relay.accepted.length).toBeGreaterThan(0);
    expect(relay.accepted.length).toBeLessThan(40);
    expect(handedBack?.counts.delivered).toBe(relay.accepted.length);
    const [job] = await bench.app.queues.queues.deliver.getJobs(['delayed', 'waiting']);
    expect(job?.attemptsMade).toBe(0);

    await bench.startWorkers();
    const settled = await waitForDigestSettled(bench.app, digest.id, { timeoutMs: 30_000 });
    expect(settled.status).toBe('sent');
    expect(settled.counts).toMatchObject({ recipients: 40, delivered: 40 });
    expect(new Set(relay.accepted.map((m) => m.recipient)).size).toBe(40);
    expect(relay.accepted).toHaveLength(40);
  });
});
