/**
 * Transactional messages (sign-up confirmation, welcome) built by the one message composer and sent through the
 * real mailer to a real SMTP server; and the transactional queue, which never waits behind a digest.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { sendDigest } from '../../src/delivery/send-digest.js';
import { sendTransactionalMessage } from '../../src/delivery/send-transactional-message.js';
import { waitForDigestSettled } from '../../src/delivery/wait-for-digest.js';
import { subscribeReader } from '../../src/subscribers/subscribe-reader.js';
import { verifyToken } from '../../src/subscribers/tokens.js';
import { readerDepsFromApp } from '../../src/http/public/reader-deps.js';
import { transactionalDepsFromApp } from '../../workers/transactional-worker.js';
import { startSmtpSink, smtpReply } from '../helpers/smtp-sink.js';
import { waitUntil } from '../helpers/wait-until.js';
import { readHeaders, startDeliveryBench } from './delivery-fixture.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function configFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lp-tx-'));
  const file = join(dir, 'letterpress.json');
  writeFileSync(
    file,
    JSON.stringify({
      site: { name: 'The Harbour Gazette', baseUrl: 'https://news.harbourgazette.example' },
      newsletters: [
        {
          id: 'daily',
          name: 'The Daily Digest',
          welcome: {
            message: 'Thank you for joining.\n\nThe Daily Digest arrives every morning at six, with the night’s news.',
          },
        },
        { id: 'culture', name: 'Culture Weekly' },
      ],
    }),
  );
  return file;
}

async function setUp(sinkOptions: Parameters<typeof startSmtpSink>[0] = {}, env: Record<string, string> = {}) {
  const sink = await startSmtpSink(sinkOptions);
  cleanups.push(sink.close);
  const bench = await startDeliveryBench({ smtpUrl: sink.url, env: { LETTERPRESS_CONFIG: configFile(), ...env } });
  cleanups.push(bench.close);
  const deps = transactionalDepsFromApp(bench.app);
  return { sink, bench, deps };
}

describe('the sign-up confirmation', () => {
  it('reaches the reader with a confirm link valid 72 hours, no list headers and nothing else personal', async () => {
    const { sink, bench, deps } = await setUp();
    const request = await bench.app.subscribers.requestSubscription({
      email: 'new.reader@example.org',
      newsletterIds: ['daily', 'culture'],
      isConfirmationSent: true,
    });
    const job = {
      kind: 'confirmation' as const,
      subscriberId: request.subscriberId,
      requestedAt: request.requestedAt ?? '',
    };
    const outcome = await sendTransactionalMessage(deps, job);
    expect(outcome.kind).toBe('sent');
    expect(sink.messages).toHaveLength(1);
    const [received] = sink.messages;
    expect(received?.envelopeTo).toEqual(['new.reader@example.org']);
    const headers = readHeaders(received!.raw);
    expect([...headers.keys()]).toEqual([
      'from',
      'to',
      'subject',
      'date',
      'message-id',
      'mime-version',
      'content-type',
    ]);
    const mail = await simpleParser(received!.raw);
    expect(mail.subject).toBe('Please confirm your subscription to The Daily Digest and Culture Weekly');
    const link = /https:\/\/news\.harbourgazette\.example\/confirm\/(\S+)/.exec(mail.text ?? '');
    expect(link).not.toBeNull();
    const token = decodeURIComponent(link![1]!);
    expect(String(mail.html)).toContain(`href="https://news.harbourgazette.example/confirm/${token}"`);
    const check = verifyToken(bench.app.config, token, 'confirm', new Date());
    expect(check.status).toBe('valid');
    const expiresAt = check.status === 'valid' ? check.claim.expiresAt : undefined;
    expect(expiresAt?.getTime()).toBe(Math.floor((Date.parse(job.requestedAt) + 72 * 3_600_000) / 1000) * 1000);
    expect(mail.text).toContain('The link works for 72 hours');
    expect(mail.messageId).not.toMatch(new RegExp(`\\b${request.subscriberId}\\b`));

    // A retry of the same job carries the same Message-ID, so a duplicate collapses in the inbox.
    await sendTransactionalMessage(deps, job);
    const again = await simpleParser(sink.messages[1]!.raw);
    expect(again.messageId).toBe(mail.messageId);
  });

  it('is not sent once the reader confirmed, nor for a request that was renewed since', async () => {
    const { sink, bench, deps } = await setUp();
    const first = await bench.app.subscribers.requestSubscription({
      email: 'quick@example.org',
      newsletterIds: ['daily'],
      isConfirmationSent: true,
    });
    await bench.app.subscribers.confirmRequest(first.subscriberId);
    const outcome = await sendTransactionalMessage(deps, {
      kind: 'confirmation',
      subscriberId: first.subscriberId,
      requestedAt: first.requestedAt ?? '',
    });
    expect(outcome).toEqual({ kind: 'skipped', reason: 'the request was confirmed, renewed or expired' });
    expect(sink.messages).toHaveLength(0);
  });

  it('a mailbox the relay says does not exist is suppressed, and the job is not retried', async () => {
    const { sink, bench, deps } = await setUp({
      onRecipient: (address) =>
        address === 'gone@example.org' ? smtpReply(550, '5.1.1 <gone@example.org>: user unknown') : undefined,
    });
    const request = await bench.app.subscribers.requestSubscription({
      email: 'gone@example.org',
      newsletterIds: ['daily'],
      isConfirmationSent: true,
    });
    const outcome = await sendTransactionalMessage(deps, {
      kind: 'confirmation',
      subscriberId: request.subscriberId,
      requestedAt: request.requestedAt ?? '',
    });
    expect(outcome.kind).toBe('refused');
    expect(sink.messages).toHaveLength(0);
    const suppression = await bench.app.subscribers.getSuppression('gone@example.org');
    expect(suppression?.reason).toMatch(/user unknown/);
    expect(suppression?.reason).not.toContain('gone@example.org');
  });
});

describe('the welcome message', () => {
  it('carries the newsletter’s own words, its list headers and the reader’s one-click unsubscribe', async () => {
    const { sink, bench, deps } = await setUp();
    const { subscriber } = await bench.app.subscribers.add({
      email: 'welcome@example.org',
      newsletterIds: ['daily'],
      status: 'active',
    });
    const outcome = await sendTransactionalMessage(deps, {
      kind: 'welcome',
      subscriberId: subscriber.id,
      newsletterId: 'daily',
      joinedAt: new Date().toISOString(),
    });
    expect(outcome.kind).toBe('sent');
    const headers = readHeaders(sink.messages[0]!.raw);
    expect(headers.get('list-id')?.[0]).toBe('The Daily Digest <daily.news.harbourgazette.example>');
    expect(headers.get('list-unsubscribe-post')).toEqual(['List-Unsubscribe=One-Click']);
    const unsubscribe = /^<(.+)>$/.exec(headers.get('list-unsubscribe')?.[0] ?? '')?.[1] ?? '';
    const token = decodeURIComponent(unsubscribe.split('/').pop() ?? '');
    expect(verifyToken(bench.app.config, token, 'unsubscribe', new Date())).toMatchObject({
      status: 'valid',
      claim: { subscriberId: subscriber.id, newsletterId: 'daily' },
    });
    const mail = await simpleParser(sink.messages[0]!.raw);
    expect(mail.subject).toBe('Welcome to The Daily Digest');
    expect(mail.text).toContain('The Daily Digest arrives every morning at six');
    expect(mail.text).toContain(unsubscribe);

    // A newsletter without a welcome message sends none.
    await bench.app.subscribers.add({ email: 'welcome@example.org', newsletterIds: ['culture'], status: 'active' });
    const none = await sendTransactionalMessage(deps, {
      kind: 'welcome',
      subscriberId: subscriber.id,
      newsletterId: 'culture',
      joinedAt: new Date().toISOString(),
    });
    expect(none.kind).toBe('skipped');
    expect(sink.messages).toHaveLength(1);
  });
});

describe('the transactional queue', () => {
  it('a confirmation asked for while a large digest is going out is accepted before the digest’s last reader', async () => {
    const { sink, bench } = await setUp({}, { DELIVERY_BATCH_SIZE: '100', DELIVERY_CONCURRENCY: '2' });
    const readers = 2_000;
    await bench.addReaders(readers, 'digest.example');
    const digest = await bench.createDigest(['Harbour wall repairs begin in spring']);
    await bench.startWorkers();
    await sendDigest(bench.app, { digestId: digest.id });
    await waitUntil('the digest to be under way', () => sink.messages.length >= 100);

    await subscribeReader(readerDepsFromApp(bench.app), { email: 'eager@example.org', newsletterIds: ['daily'] });
    const settled = await waitForDigestSettled(bench.app, digest.id, { timeoutMs: 120_000 });
    expect(settled.counts.delivered).toBe(readers);
    await waitUntil('the confirmation', () => sink.messages.some((m) => m.envelopeTo[0] === 'eager@example.org'));

    const order = sink.messages.map((m) => m.envelopeTo[0] ?? '');
    const confirmationAt = order.indexOf('eager@example.org');
    const lastDigestAt = order.map((to) => to.endsWith('@digest.example')).lastIndexOf(true);
    expect(confirmationAt).toBeLessThan(lastDigestAt);
    // Not by a hair: a good share of the digest was still to go when the confirmation was accepted.
    expect(lastDigestAt - confirmationAt).toBeGreaterThan(readers / 10);
  });
});
