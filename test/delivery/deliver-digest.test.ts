/**
 * Sending a digest end to end: real Redis (own prefix), real BullMQ workers, a real SMTP server. Each test checks
 * what readers and editors see: who got a message, how many, with which headers, and the digest's final counts.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/wait-until.js';
import { simpleParser } from 'mailparser';
import { sendDigest } from '../../src/delivery/send-digest.js';
import { cancelDigest, resumeDigest } from '../../src/delivery/control-digest.js';
import { waitForDigestSettled } from '../../src/delivery/wait-for-digest.js';
import { createRawSmtpMailer } from '../../src/smtp/raw-smtp-mailer.js';
import type { Mailer } from '../../src/smtp/mailer.js';
import { createToken } from '../../src/subscribers/tokens.js';
import { startSmtpSink, smtpReply } from '../helpers/smtp-sink.js';
import { startFaultySmtp } from '../helpers/faulty-smtp.js';
import { ordinaryReply, startScriptedSmtp } from '../helpers/scripted-smtp.js';
import {
  countByRecipient,
  readHeaders,
  recordingLogger,
  startDeliveryBench,
  type DeliveryBench,
} from './delivery-fixture.js';

const TITLES = [
  'Harbour wall repairs begin in spring',
  'Ferry timetable changes for winter',
  'Library extends its opening hours',
];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function sinkAndBench(
  sinkOptions: Parameters<typeof startSmtpSink>[0] = {},
  env: Record<string, string> = {},
  mailer?: (url: string) => Mailer,
) {
  const sink = await startSmtpSink(sinkOptions);
  cleanups.push(sink.close);
  const bench = await startDeliveryBench({ smtpUrl: sink.url, env, mailer: mailer?.(sink.url) });
  cleanups.push(bench.close);
  return { sink, bench };
}

async function sendAndWait(bench: DeliveryBench, digestId: string) {
  await sendDigest(bench.app, { digestId });
  return waitForDigestSettled(bench.app, digestId, { timeoutMs: 45_000 });
}

describe('sending a digest', () => {
  it('gives each of 200 readers exactly one personal copy, and the digest ends sent with matching counts', async () => {
    const { sink, bench } = await sinkAndBench();
    const readers = await bench.addReaders(200);
    const digest = await bench.createDigest(TITLES);
    await bench.startWorkers();

    const settled = await sendAndWait(bench, digest.id);

    expect(settled.status).toBe('sent');
    expect(settled.counts).toEqual({ recipients: 200, delivered: 200, failed: 0, skipped: 0 });
    expect(sink.messages).toHaveLength(200);
    const perAddress = countByRecipient(sink.messages);
    expect(perAddress.size).toBe(200);
    expect([...perAddress.values()].every((n) => n === 1)).toBe(true);

    const { config } = bench.app;
    const idByEmail = new Map(readers.map((r) => [r.email, r.id]));
    const messageIds = new Set<string>();
    for (const message of sink.messages) {
      const to = message.envelopeTo[0] ?? '';
      const id = idByEmail.get(to);
      expect(id).toBeDefined();
      const token = createToken(config.secret, {
        purpose: 'unsubscribe',
        subscriberId: id ?? 0,
        newsletterId: 'daily',
      });
      const headers = readHeaders(message.raw);
      expect(headers.get('list-unsubscribe')).toEqual([`<${config.site.baseUrl}/unsubscribe/${token}>`]);
      expect(headers.get('list-unsubscribe-post')).toEqual(['List-Unsubscribe=One-Click']);
      expect(headers.get('list-id')?.[0]).toContain(`<daily.${config.site.mailDomain}>`);
      expect(headers.get('to')?.[0]).toContain(to);
      const messageId = headers.get('message-id')?.[0] ?? '';
      expect(messageId).toMatch(/^<.+@.+>$/);
      messageIds.add(messageId);
    }
    expect(messageIds.size).toBe(200);

    const parsed = await simpleParser(sink.messages[0]?.raw ?? Buffer.alloc(0));
    for (const title of TITLES) {
      expect(parsed.html || '').toContain(title);
      expect(parsed.text ?? '').toContain(title);
    }
    // Rendered and composed once per digest, not per reader or per batch.
    expect(bench.app.templates.preparedCount).toBe(1);
    expect(await bench.app.lastSentAt('daily')).toEqual(new Date(digest.createdAt));
  });

  it('a reader with a Unicode domain gets the digest addressed in punycode on the wire, and keeps their spelling', async () => {
    const relay = await startScriptedSmtp(ordinaryReply);
    cleanups.push(relay.close);
    const bench = await startDeliveryBench({ smtpUrl: relay.url });
    cleanups.push(bench.close);
    const [reader] = await bench.addReaders(1, 'bücher.example');
    const digest = await bench.createDigest(TITLES);
    await bench.startWorkers();
    expect((await sendAndWait(bench, digest.id)).counts).toMatchObject({ delivered: 1, failed: 0 });
    expect(relay.commands).toContain('RCPT TO:<reader-0@xn--bcher-kva.example>');
    expect((await bench.app.subscribers.get(reader?.id ?? 0))?.email).toBe('reader-0@bücher.example');
  });

  it('a digest whose newsletter has no readers is sent at once to nobody', async () => {
    const { sink, bench } = await sinkAndBench();
    const digest = await bench.createDigest(TITLES);
    await bench.startWorkers();
    const settled = await sendAndWait(bench, digest.id);
    expect(settled.status).toBe('sent');
    expect(settled.counts.recipients).toBe(0);
    expect(sink.messages).toHaveLength(0);
  });

  it('a relay that starts answering 451 half-way: the retried batch sends nobody twice and misses nobody', async () => {
    let accepted = 0;
    let refused = 0;
    const { sink, bench } = await sinkAndBench(
      {
        onMessage: () => {
          if (accepted >= 20 && refused < 15) {
            refused += 1;
            throw smtpReply(451, '4.3.0 Temporary local problem, try again');
          }
          accepted += 1;
        },
      },
      { DELIVERY_BATCH_SIZE: '100' },
    );
    await bench.addReaders(60);
    const digest = await bench.createDigest(TITLES);
    await bench.startWorkers();

    const settled = await sendAndWait(bench, digest.id);

    expect(refused).toBe(15);
    expect(settled.status).toBe('sent');
    expect(settled.counts).toMatchObject({ recipients: 60, delivered: 60, failed: 0 });
    const perAddress = countByRecipient(sink.messages);
    expect(perAddress.size).toBe(60);
    expect([...perAddress.values()].every((n) => n === 1)).toBe(true);
  });

  it('a worker that throws in the middle of a batch is retried without sending anyone twice', async () => {
    let sends = 0;
    const { sink, bench } = await sinkAndBench({}, { DELIVERY_BATCH_SIZE: '100' }, (url) => {
      const real = createRawSmtpMailer({ url, poolSize: 2 });
      cleanups.push(real.close);
      return {
        send: async (message) => {
          sends += 1;
          if (sends === 12) throw new TypeError('unexpected failure inside the worker');
          return real.send(message);
        },
      };
    });
    await bench.addReaders(40);
    const digest = await bench.createDigest(TITLES);
    await bench.startWorkers();

    const settled = await sendAndWait(bench, digest.id);

    expect(settled.status).toBe('sent');
    expect(settled.counts).toMatchObject({ recipients: 40, delivered: 40 });
    const perAddress = countByRecipient(sink.messages);
    expect(perAddress.size).toBe(40);
    expect([...perAddress.values()].every((n) => n === 1)).toBe(true);
  });

  it('a mailbox that answers 451 on every attempt is recorded as failed after the last one, and the digest finishes', async () => {
    let refusals = 0;
    const { sink, bench } = await sinkAndBench({
      onRecipient: (address) => {
        if (address !== 'reader-2@example.org') return undefined;
        refusals += 1;
        return smtpReply(451, '4.7.1 Greylisted, please try again later');
      },
    });
    await bench.addReaders(8);
    const digest = await bench.createDigest(TITLES);
    await bench.startWorkers();

    const settled = await sendAndWait(bench, digest.id);

    expect(settled.status).toBe('sent');
    expect(settled.counts).toEqual({ recipients: 8, delivered: 7, failed: 1, skipped: 0 });
    expect(refusals).toBe(6); // one per attempt of the job (QUICK_JOB_OPTIONS: 6 attempts)
    expect(sink.messages).toHaveLength(7);
    const [failure] = await bench.app.ledger.listFailures(digest.id);
    expect(failure?.reason).toContain('still refused after the last attempt');
    // A temporary refusal never suppresses the address.
    expect(await bench.app.subscribers.countActive('daily')).toBe(8);
  });

  it('a 550 5.1.1 fails only that reader, records why, and suppresses the address; the others get theirs', async () => {
    const { sink, bench } = await sinkAndBench({
      onRecipient: (address) =>
        address === 'reader-3@example.org' ? smtpReply(550, '5.1.1 <reader-3@example.org>: user unknown') : undefined,
    });
    const readers = await bench.addReaders(10);
    const digest = await bench.createDigest(TITLES);
    await bench.startWorkers();

    const settled = await sendAndWait(bench, digest.id);

    expect(settled.status).toBe('sent');
    expect(settled.counts).toEqual({ recipients: 10, delivered: 9, failed: 1, skipped: 0 });
    expect(sink.messages).toHaveLength(9);
    const gone = readers[3];
    const failures = await bench.app.ledger.listFailures(digest.id);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.subscriberId).toBe(gone?.id);
    expect(failures[0]?.reason).toContain('5.1.1');
    expect(failures[0]?.reason).not.toContain('@');
    expect((await bench.app.subscribers.get(gone?.id ?? 0))?.status).toBe('suppressed');
    expect(await bench.app.subscribers.isActive(gone?.id ?? 0, 'daily')).toBe(false);
  });

  it('a reader whose stored address cannot be written into a message fails alone, with the reason; the digest still finishes', async () => {
    const { sink, bench } = await sinkAndBench();
    const readers = await bench.addReaders(10);
    const odd = readers[4];
    // An address stored by an older version or an import: a non-ASCII local part needs SMTPUTF8, which digests never use.
    await bench.app.redis.hset(bench.app.keys.subscriber(odd?.id ?? 0), 'email', 'jörg@example.org');
    const digest = await bench.createDigest(TITLES);
    await bench.startWorkers();

    const settled = await sendAndWait(bench, digest.id);

    expect(settled.status).toBe('sent');
    expect(settled.counts).toEqual({ recipients: 10, delivered: 9, failed: 1, skipped: 0 });
    expect(sink.messages).toHaveLength(9);
    const failures = await bench.app.ledger.listFailures(digest.id);
    expect(failures).toEqual([{ subscriberId: odd?.id, reason: expect.stringContaining('cannot be written') }]);
    expect(failures[0]?.reason).not.toContain('@');
    // Not the reader's mailbox refusing: the address is not suppressed.
    expect(await bench.app.subscribers.isActive(odd?.id ?? 0, 'daily')).toBe(true);
    expect(await bench.app.subscribers.getSuppression('jörg@example.org')).toBeUndefined();
  });

  it('a run of 5.7.1 policy refusals pauses the digest with the reason; resume delivers to the rest', async () => {
    let isRefusing = true;
    const { sink, bench } = await sinkAndBench(
      {
        onMessage: () => {
          if (isRefusing) throw smtpReply(554, '5.7.1 Message rejected by policy');
        },
      },
      { PAUSE_AFTER_PERMANENT_FAILURES: '3', DELIVERY_BATCH_SIZE: '10' },
    );
    await bench.addReaders(30);
    const digest = await bench.createDigest(TITLES);
    // Paused batches look again only after a minute here: finishing in time proves resume wakes them itself.
    await bench.startWorkers({ pausedRecheckMs: 60_000 });

    const paused = await sendAndWait(bench, digest.id);
    expect(paused.status).toBe('paused');
    expect(paused.pausedReason).toContain('5.7.1');
    expect(paused.counts.failed).toBeGreaterThanOrEqual(3);
    expect(paused.counts.delivered).toBe(0);
    expect(sink.messages).toHaveLength(0);

    isRefusing = false;
    await resumeDigest(bench.app, { digestId: digest.id });
    const settled = await waitForDigestSettled(bench.app, digest.id, { timeoutMs: 30_000 });

    expect(settled.status).toBe('sent');
    expect(settled.pausedReason).toBeUndefined();
    // Messages already on the wire when the pause took effect may still be refused (and recorded) after it.
    expect(settled.counts.failed).toBeGreaterThanOrEqual(paused.counts.failed);
    expect(settled.counts.failed).toBeLessThan(30);
    expect(settled.counts.delivered + settled.counts.failed).toBe(30);
    expect(sink.messages).toHaveLength(settled.counts.delivered);
    expect([...countByRecipient(sink.messages).values()].every((n) => n === 1)).toBe(true);
    // Policy refusals do not suppress anyone.
    expect(await bench.app.subscribers.countActive('daily')).toBe(30);
  });

  it('a wrong relay password pauses the digest with the relay’s reason and fails nobody; resume after the fix delivers to all', async () => {
    let acceptedPassword = 'the-right-one';
    const received: string[] = [];
    const relay = new SMTPServer({
      authMethods: ['PLAIN'],
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      disableReverseLookup: true,
      logger: false,
      onAuth: (auth, _session, callback) =>
        auth.password === acceptedPassword
          ? callback(null, { user: auth.username })
          : callback(smtpReply(535, '5.7.8 Error: authentication failed')),
      onData: (stream, session, callback) => {
        stream.on('data', () => {});
        stream.on('end', () => {
          received.push(...session.envelope.rcptTo.map((r) => r.address));
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => relay.close(() => resolve())));
    const port = (relay.server.address() as AddressInfo).port;
    const log = recordingLogger();
    const bench = await startDeliveryBench({
      smtpUrl: `smtp://desk:typo-in-password@127.0.0.1:${port}`,
      // A relay on this host: the password may travel without TLS.
      env: { SMTP_ALLOW_PLAINTEXT_AUTH: 'true', PAUSE_AFTER_PERMANENT_FAILURES: '5', DELIVERY_BATCH_SIZE: '10' },
      logger: log.logger,
    });
    cleanups.push(bench.close);
    await bench.addReaders(20);
    const digest = await bench.createDigest(TITLES);
    await bench.startWorkers({ pausedRecheckMs: 60_000 });

    const paused = await sendAndWait(bench, digest.id);
    expect(paused.status).toBe('paused');
    expect(paused.pausedReason).toMatch(/^the relay refused the session .*535 5\.7\.8/);
    expect(paused.counts).toMatchObject({ recipients: 20, delivered: 0, failed: 0, skipped: 0 });
    expect(received).toEqual([]);
    // The operator reads why in the worker's log too, without an address or the password in it.
    const errors = log.lines.filter((line) => line.level === 50).map((line) => String(line.msg));
    expect(errors).toContain('the relay refused the session: every reader of this batch stays pending');
    expect(errors).toContain('digest paused: fix the relay, then run `letterpress digest resume`');
    const everything = JSON.stringify(log.lines);
    expect(everything).not.toContain('typo-in-password');
    expect(everything).not.toMatch(/reader-\d+@/);

    acceptedPassword = 'typo-in-password';
    await resumeDigest(bench.app, { digestId: digest.id });
    const settled = await waitForDigestSettled(bench.app, digest.id, { timeoutMs: 30_000 });
    expect(settled.status).toBe('sent');
    expect(settled.counts).toEqual({ recipients: 20, delivered: 20, failed: 0, skipped: 0 });
    expect(received).toHaveLength(20);
    expect(new Set(received).size).toBe(20);
  });

  it('a reader who unsubscribes while their batch waits in the queue gets nothing, and is counted as skipped', async () => {
    const { sink, bench } = await sinkAndBench();
    const readers = await bench.addReaders(20);
    const digest = await bench.createDigest(TITLES);
    const fanOutOnly = await bench.startWorkers({ kinds: ['fanout'] });
    await sendDigest(bench.app, { digestId: digest.id });
    await waitUntil(
      'the fan-out to finish',
      async () => (await bench.app.digests.get(digest.id))?.fannedOutAt !== undefined,
    );
    await fanOutOnly.close();

    const leaver = readers[7];
    await bench.app.subscribers.unsubscribe(leaver?.id ?? 0, 'daily');
    await bench.startWorkers({ kinds: ['deliver'] });
    const settled = await waitForDigestSettled(bench.app, digest.id, { timeoutMs: 30_000 });

    expect(settled.status).toBe('sent');
    expect(settled.counts).toEqual({ recipients: 20, delivered: 19, failed: 0, skipped: 1 });
    expect(countByRecipient(sink.messages).has(leaver?.email ?? '')).toBe(false);
    expect(sink.messages).toHaveLength(19);
  });

  it('a reader who unsubscribes while their batch is already sending gets nothing', async () => {
    let leaverId = 0;
    let hasUnsubscribed = false;
    const { sink, bench } = await sinkAndBench({}, { SMTP_POOL_SIZE: '1' }, (url) => {
      const real = createRawSmtpMailer({ url, poolSize: 1 });
      cleanups.push(real.close);
      return {
        send: async (message) => {
          // The first send of the batch: the leaver unsubscribes while the batch is in flight.
          if (!hasUnsubscribed) {
            hasUnsubscribed = true;
            await bench.app.subscribers.unsubscribe(leaverId, 'daily');
          }
          return real.send(message);
        },
      };
    });
    const readers = await bench.addReaders(10);
    leaverId = readers[6]?.id ?? 0;
    const digest = await bench.createDigest(TITLES);
    await bench.startWorkers();

    const settled = await sendAndWait(bench, digest.id);

    expect(settled.status).toBe('sent');
    expect(settled.counts).toEqual({ recipients: 10, delivered: 9, failed: 0, skipped: 1 });
    expect(countByRecipient(sink.messages).has(readers[6]?.email ?? '')).toBe(false);
  });

  it('sending twice at once, and again after it finished, gives each reader one message', async () => {
    const { sink, bench } = await sinkAndBench();
    await bench.addReaders(30);
    const digest = await bench.createDigest(TITLES);
    await bench.startWorkers();

    const [first, second] = await Promise.all([
      sendDigest(bench.app, { digestId: digest.id }),
      sendDigest(bench.app, { digestId: digest.id }),
    ]);
    expect([first.status, second.status]).toEqual(['sending', 'sending']);
    const settled = await waitForDigestSettled(bench.app, digest.id, { timeoutMs: 30_000 });
    expect(settled.status).toBe('sent');

    expect((await sendDigest(bench.app, { digestId: digest.id })).status).toBe('sent');
    expect((await resumeDigest(bench.app, { digestId: digest.id })).status).toBe('sent');
    await bench.app.queues.enqueue('fanout', { digestId: digest.id, resume: 99 });
    await bench.waitForQueuesIdle();

    expect(sink.messages).toHaveLength(30);
    expect([...countByRecipient(sink.messages).values()].every((n) => n === 1)).toBe(true);
    expect((await bench.app.digests.get(digest.id))?.counts).toEqual({
      recipients: 30,
      delivered: 30,
      failed: 0,
      skipped: 0,
    });
  });

  it('a cancelled digest sends nothing more and cannot be sent again', async () => {
    const { sink, bench } = await sinkAndBench();
    await bench.addReaders(20);
    const digest = await bench.createDigest(TITLES);
    const cancelled = await cancelDigest(bench.app, { digestId: digest.id });
    expect(cancelled.status).toBe('cancelled');
    await expect(sendDigest(bench.app, { digestId: digest.id })).rejects.toMatchObject({ code: 'digest_state' });
    await bench.startWorkers();
    await bench.waitForQueuesIdle();
    expect(sink.messages).toHaveLength(0);
  });

  it('a job payload left in an old shape fails with a clear reason while the other jobs complete', async () => {
    const { sink, bench } = await sinkAndBench();
    await bench.addReaders(10);
    const digest = await bench.createDigest(TITLES);
    const deliverQueue = bench.app.queues.queues.deliver;
    await deliverQueue.add('deliver', { digest: digest.id, from: 1, to: 10 }, { jobId: 'left-by-an-older-version' });
    await bench.startWorkers();

    const settled = await sendAndWait(bench, digest.id);
    expect(settled.status).toBe('sent');
    expect(sink.messages).toHaveLength(10);

    await waitUntil(
      'the old job to fail',
      async () => (await deliverQueue.getJob('left-by-an-older-version'))?.failedReason !== undefined,
    );
    const old = await deliverQueue.getJob('left-by-an-older-version');
    expect(await old?.getState()).toBe('failed');
    expect(old?.attemptsMade).toBe(1);
    expect(old?.failedReason).toContain('deliver job payload does not match its schema');
    expect(old?.failedReason).toContain('digestId');
  });

  it('a relay that is down holds the digest without failing anyone or spending attempts, then delivers when it is back', async () => {
    const relay = await startFaultySmtp();
    cleanups.push(relay.close);
    const bench = await startDeliveryBench({ smtpUrl: relay.url, env: { DELIVERY_BATCH_SIZE: '10' } });
    cleanups.push(bench.close);
    await bench.addReaders(25);
    const digest = await bench.createDigest(TITLES);
    await relay.setDown(true);
    await bench.startWorkers();
    await sendDigest(bench.app, { digestId: digest.id });

    // Deferred jobs come back again and again (more often than their 6 attempts) while the relay is down.
    const deliverQueue = bench.app.queues.queues.deliver;
    await waitUntil('a job deferred seven times', async () => {
      const jobs = await deliverQueue.getJobs(['delayed', 'waiting', 'active']);
      return jobs.some((job) => job.data.deferrals >= 7);
    });
    const during = await bench.app.digests.get(digest.id);
    expect(during?.status).toBe('sending');
    expect(during?.counts).toMatchObject({ delivered: 0, failed: 0 });
    expect(await deliverQueue.getJobCounts('failed')).toEqual({ failed: 0 });

    await relay.setDown(false);
    const settled = await waitForDigestSettled(bench.app, digest.id, { timeoutMs: 30_000 });
    expect(settled.status).toBe('sent');
    expect(settled.counts).toMatchObject({ recipients: 25, delivered: 25, failed: 0 });
    expect(new Set(relay.accepted.map((m) => m.recipient)).size).toBe(25);
    expect(relay.accepted).toHaveLength(25);
  });
});
