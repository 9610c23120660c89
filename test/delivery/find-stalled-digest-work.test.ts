/**
 * A digest whose delivery jobs all failed for good stays `sending`: the status says nothing will finish it, and
 * sending it again (or resuming it) finishes it. Real Redis (own prefix), real BullMQ workers, a real SMTP server.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { waitUntil } from '../helpers/wait-until.js';
import { findStalledDigestWork } from '../../src/delivery/find-stalled-digest-work.js';
import { sendDigest } from '../../src/delivery/send-digest.js';
import { waitForDigestSettled } from '../../src/delivery/wait-for-digest.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';
import { countByRecipient, startDeliveryBench } from './delivery-fixture.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  while (cleanups.length > 0) await cleanups.pop()?.();
});

describe('a digest whose delivery jobs failed for good', () => {
  it('is reported as stalled with a hint, and sending it again delivers everyone exactly once', async () => {
    const sink = await startSmtpSink();
    cleanups.push(sink.close);
    const bench = await startDeliveryBench({ smtpUrl: sink.url, env: { DELIVERY_BATCH_SIZE: '10' } });
    cleanups.push(bench.close);
    await bench.addReaders(20);
    const digest = await bench.createDigest(['Ferry timetable changes for winter']);

    await sendDigest(bench.app, { digestId: digest.id });
    const queued = await findStalledDigestWork(bench.app, { digestId: digest.id });
    expect(queued).toMatchObject({ status: 'sending', isStalled: false, fanOutJobs: { waiting: 1 } });
    expect(queued.hint).toBeUndefined();

    // Every delivery attempt meets a Redis that refuses (say, a replica promoted late): each job spends its attempts.
    const lookup = vi
      .spyOn(bench.app.subscribers, 'getEmails')
      .mockRejectedValue(new Error("READONLY You can't write against a read only replica."));
    await bench.startWorkers();
    const deliverQueue = bench.app.queues.queues.deliver;
    await waitUntil('both delivery jobs to fail', async () => (await deliverQueue.getJobCounts('failed')).failed === 2);

    const stalled = await findStalledDigestWork(bench.app, { digestId: digest.id });
    expect(stalled).toMatchObject({
      status: 'sending',
      isStalled: true,
      pendingRecipients: 20,
      pendingRanges: 2,
      deliverJobs: { waiting: 0, active: 0, delayed: 0, failed: 2 },
    });
    expect(stalled.hint).toContain(`letterpress digest resume ${digest.id}`);
    expect(sink.messages).toHaveLength(0);

    lookup.mockRestore();
    const again = await sendDigest(bench.app, { digestId: digest.id });
    expect(again).toEqual({ status: 'sending', isFanOutQueued: true });
    const settled = await waitForDigestSettled(bench.app, digest.id, { timeoutMs: 30_000 });

    expect(settled.status).toBe('sent');
    expect(settled.counts).toEqual({ recipients: 20, delivered: 20, failed: 0, skipped: 0 });
    const perReader = countByRecipient(sink.messages);
    expect(perReader.size).toBe(20);
    expect([...perReader.values()].every((n) => n === 1)).toBe(true);
    expect(await findStalledDigestWork(bench.app, { digestId: digest.id })).toMatchObject({
      status: 'sent',
      isStalled: false,
      pendingRecipients: 0,
    });
  });

  it('a digest whose fan-out failed for good before it froze the recipients is reported as stalled too', async () => {
    const sink = await startSmtpSink();
    cleanups.push(sink.close);
    const bench = await startDeliveryBench({ smtpUrl: sink.url });
    cleanups.push(bench.close);
    await bench.addReaders(5);
    const digest = await bench.createDigest(['Library extends its opening hours']);
    const snapshot = vi
      .spyOn(bench.app.ledger, 'snapshotRecipients')
      .mockRejectedValue(new Error('OOM command not allowed when used memory > maxmemory'));
    await sendDigest(bench.app, { digestId: digest.id });
    await bench.startWorkers({ kinds: ['fanout'] });
    const fanOutQueue = bench.app.queues.queues.fanout;
    await waitUntil('the fan-out job to fail', async () => (await fanOutQueue.getJobCounts('failed')).failed === 1);

    const stalled = await findStalledDigestWork(bench.app, { digestId: digest.id });
    expect(stalled).toMatchObject({ status: 'sending', isStalled: true, fanOutJobs: { failed: 1 } });
    expect(stalled.hint).toContain('fan-out unfinished');

    snapshot.mockRestore();
    await sendDigest(bench.app, { digestId: digest.id });
    await bench.startWorkers({ kinds: ['deliver'] });
    const settled = await waitForDigestSettled(bench.app, digest.id, { timeoutMs: 30_000 });
    expect(settled.status).toBe('sent');
    expect(sink.messages).toHaveLength(5);
  });
});
