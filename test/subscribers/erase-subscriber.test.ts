/**
 * A person's data out (`subscribers export-data`) and erased (`subscribers erase`): after a real life of sign-up,
 * confirmation, digests delivered and bounced, soft bounces, rate-limit counters and a failed job quoting the address,
 * a scan of every key under the prefix (job payloads and queue events included) finds no trace of the address, and
 * the address stays suppressed by its keyed hash alone.
 */
import { Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/redis.js';
import { sendDigest } from '../../src/delivery/send-digest.js';
import { waitForDigestSettled } from '../../src/delivery/wait-for-digest.js';
import { createHttpApp } from '../../src/http/server.js';
import { exportPersonalData } from '../../src/subscribers/export-personal-data.js';
import { recordBounces } from '../../src/subscribers/record-bounces.js';
import { startDeliveryBench } from '../delivery/delivery-fixture.js';
import { runLetterpress } from '../helpers/cli.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { smtpReply, startSmtpSink } from '../helpers/smtp-sink.js';
import { waitUntil } from '../helpers/wait-until.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** Every key under the prefix with everything it holds, as text. */
async function dumpPrefix(redis: RedisClient, prefix: string): Promise<Map<string, string>> {
  const dump = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      let content: unknown;
      if (type === 'string') content = (await redis.getBuffer(key))?.toString('latin1');
      else if (type === 'hash') content = await redis.hgetall(key);
      else if (type === 'list') content = await redis.lrange(key, 0, -1);
      else if (type === 'set') content = await redis.smembers(key);
      else if (type === 'zset') content = await redis.zrange(key, '0', '-1', 'WITHSCORES');
      else if (type === 'stream') content = await redis.xrange(key, '-', '+');
      dump.set(key, JSON.stringify(content));
    }
  } while (cursor !== '0');
  return dump;
}

describe('a person’s data', () => {
  it('is all in export-data, and after erase no key under the prefix holds a trace of the address', async () => {
    const address = 'Erase.Me@Example.org';
    let isRefusing = false;
    const sink = await startSmtpSink({
      onRecipient: (to) =>
        isRefusing && to.toLowerCase() === address.toLowerCase()
          ? smtpReply(550, `5.1.1 <${to}>: Recipient address rejected: User unknown`)
          : undefined,
    });
    cleanups.push(sink.close);
    const bench = await startDeliveryBench({ smtpUrl: sink.url });
    cleanups.push(bench.close);
    const { app } = bench;
    await bench.addReaders(2);

    // Signs up on the form (rate-limit counters, a confirmation job naming them) and confirms.
    const form = new URLSearchParams({ email: address, newsletters: 'daily' }).toString();
    const answer = await createHttpApp(app).request('/subscribe', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    expect(answer.status).toBe(200);
    const reader = await app.subscribers.getByEmail(address);
    expect(reader?.status).toBe('pending');
    await app.subscribers.confirmRequest(reader?.id ?? 0);
    await app.subscribers.add({ email: address, name: 'Erin Example', newsletterIds: ['daily'], status: 'active' });

    // Receives one digest, then bounces the next (a failure reason, then a suppression).
    await bench.startWorkers({ kinds: ['fanout', 'deliver'] });
    const first = await bench.createDigest(['Harbour wall repairs begin in spring']);
    await sendDigest(app, { digestId: first.id });
    await waitForDigestSettled(app, first.id, { timeoutMs: 30_000 });
    isRefusing = true;
    const second = await bench.createDigest(['Ferry timetable changes for winter']);
    await sendDigest(app, { digestId: second.id });
    await waitForDigestSettled(app, second.id, { timeoutMs: 30_000 });
    await recordBounces({ subscribers: app.subscribers, softLimit: 5, softWindowMs: 86_400_000, logger: app.logger }, [
      { email: address, type: 'soft', reason: `452 <${address}> mailbox full`, eventId: 'e1', source: 'webhook' },
    ]);
    // A job from some other code path that quoted the address in its payload and its failure.
    const quoting = new Worker(
      'transactional',
      async () => {
        throw new Error(`550 <${address}> refused`);
      },
      { connection: app.queues.connection, prefix: app.keys.bullPrefix },
    );
    cleanups.push(() => quoting.close());
    await app.queues.queues.transactional.add('legacy', { to: address }, { attempts: 1 });
    await waitUntil(
      'the quoting job to fail',
      async () => ((await app.queues.queues.transactional.getJobCounts('failed')).failed ?? 0) >= 1,
    );
    await quoting.close();

    const data = await exportPersonalData(
      { subscribers: app.subscribers, ledger: app.ledger, jobs: app.queues, newsletters: app.config.newsletters },
      address,
    );
    expect(data.subscriber).toMatchObject({ email: address, name: 'Erin Example', status: 'suppressed' });
    expect(data.suppression?.reason).toMatch(/User unknown/);
    expect(data.digests.map((d) => [d.digestId, d.outcome])).toEqual([
      [first.id, 'delivered'],
      [second.id, 'failed'],
    ]);
    expect(data.digests[1]?.reason ?? '').toMatch(/^5\.1\.1|550/);
    expect(data.digests[1]?.reason ?? '').not.toContain('@');
    expect(data.queuedJobs).toBeGreaterThanOrEqual(2);

    const lower = address.toLowerCase();
    const rateKey = app.readerLimits.addressKey(address);
    const tracesOf = (dump: Map<string, string>) =>
      [...dump.entries()]
        .filter(
          ([key, value]) => `${key} ${value}`.toLowerCase().includes(lower) || `${key} ${value}`.includes(rateKey),
        )
        .map(([key]) => key);
    expect(tracesOf(await dumpPrefix(app.redis, bench.prefix)).length).toBeGreaterThan(3);

    const erased = await runLetterpress(['subscribers', 'erase', address, '--json'], {
      REDIS_URL: TEST_REDIS_URL,
      LETTERPRESS_PREFIX: bench.prefix,
    });
    expect(erased.code).toBe(0);
    expect(erased.json).toMatchObject({ hadRecord: true, staysSuppressed: true, jobsRemoved: 2 });
    expect(erased.stdout).not.toContain(lower);

    const after = await dumpPrefix(app.redis, bench.prefix);
    expect(tracesOf(after)).toEqual([]);
    expect(after.has(app.keys.subscriber(reader?.id ?? 0))).toBe(false);
    expect(await app.subscribers.getByEmail(address)).toBeUndefined();
    expect(await app.ledger.historyOf(reader?.id ?? 0)).toEqual([]);
    // Still suppressed, by its keyed hash alone: signing up again stores nothing.
    expect((await app.subscribers.getSuppression(address))?.reason).toMatch(/User unknown/);
    await app.subscribers.requestSubscription({ email: address, newsletterIds: ['daily'], isConfirmationSent: true });
    expect(await app.subscribers.getByEmail(address)).toBeUndefined();
    // The others are untouched.
    expect((await app.digests.get(first.id))?.counts.delivered).toBe(3);
    expect(await app.subscribers.countActive('daily')).toBe(2);
  });
});
