/**
 * A delivery batch under the shared send rate, on real Redis (own prefix) and a real SMTP server: the batch keeps
 * to the rate stored in Redis, a reader who leaves while their message waits for its permit gets nothing (the
 * permit comes before the last check), and a worker shutting down stops waiting at once, handing the rest back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { deliverBatch } from '../../src/delivery/deliver-batch.js';
import { RedisSendRateStore } from '../../src/delivery/send-rate-store.js';
import type { SendRateLimiter } from '../../src/delivery/wait-for-send-permit.js';
import { createRawSmtpMailer } from '../../src/smtp/raw-smtp-mailer.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';
import { batchDeps, digestInOneRange, startDeliveryBench } from './delivery-fixture.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function rateRange(readers: number) {
  const sink = await startSmtpSink();
  cleanups.push(sink.close);
  const bench = await startDeliveryBench({ smtpUrl: sink.url, env: { DELIVERY_BATCH_SIZE: String(readers) } });
  cleanups.push(bench.close);
  const { payload } = await digestInOneRange(bench, readers);
  const mailer = createRawSmtpMailer({ url: sink.url, poolSize: 4 });
  cleanups.push(mailer.close);
  const limiter = new RedisSendRateStore(bench.app.redis, bench.app.keys);
  return { sink, bench, payload, mailer, limiter };
}

describe('a delivery batch at the shared send rate', () => {
  it('keeps to the rate stored in Redis and sends every reader once', async () => {
    const { sink, bench, payload, mailer, limiter } = await rateRange(30);
    await limiter.set(20);
    const started = Date.now();
    const result = await deliverBatch({ ...batchDeps(bench, mailer, { lanes: 4 }), sendRate: limiter }, payload);
    const seconds = (Date.now() - started) / 1000;
    expect(result).toMatchObject({ kind: 'done', counts: { delivered: 30 } });
    expect(sink.messages).toHaveLength(30);
    // 30 messages at 20/s: the last one's instant is 1.45 s after the first.
    expect(seconds).toBeGreaterThanOrEqual(1.4);
  }, 60_000);

  it('a reader who leaves while their message waits for its permit gets nothing', async () => {
    const { sink, bench, payload, mailer } = await rateRange(3);
    // Every permit says "in 300 ms"; reader 2 leaves as the first permit is given, after the batch read its readers.
    let hasLeft = false;
    const slowLimiter: SendRateLimiter = {
      reserve: async () => {
        if (!hasLeft) {
          hasLeft = true;
          await bench.app.subscribers.unsubscribe(2);
        }
        return { isGranted: true, waitMs: 300, id: '' };
      },
      settle: async () => undefined,
    };
    const result = await deliverBatch({ ...batchDeps(bench, mailer, { lanes: 3 }), sendRate: slowLimiter }, payload);
    expect(hasLeft).toBe(true);
    expect(result).toMatchObject({ kind: 'done', counts: { delivered: 2, skipped: 1 } });
    expect(sink.messages.flatMap((message) => message.envelopeTo)).not.toContain(
      (await bench.app.subscribers.getEmails([2])).get(2),
    );
  }, 60_000);

  it('a worker shutting down stops waiting for permits and hands the readers not yet sent back', async () => {
    const { sink, bench, payload, mailer, limiter } = await rateRange(10);
    await limiter.set(2);
    const shutdown = new AbortController();
    setTimeout(() => shutdown.abort(), 700);
    const result = await deliverBatch({ ...batchDeps(bench, mailer, { lanes: 2 }), sendRate: limiter }, payload, {
      signal: shutdown.signal,
    });
    expect(result).toMatchObject({ kind: 'deferred', reason: 'shutting-down' });
    expect(sink.messages.length).toBeGreaterThanOrEqual(1);
    expect(sink.messages.length).toBeLessThanOrEqual(3);
    expect(result.counts.delivered).toBe(sink.messages.length);
  }, 60_000);
});
