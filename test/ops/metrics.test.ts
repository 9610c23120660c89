/**
 * What an operator reads on /metrics after a digest that had everything: deliveries, a mailbox that does not exist,
 * a policy refusal, a transient refusal retried, readers who left after fan-out. Two real `letterpress worker`
 * processes deliver it (so the figures must add up across processes), the relay is a real SMTP server, and the
 * verdict compares the metrics with the ledger. Then one worker hangs (SIGSTOP): `health --worker` and the metrics
 * show it, and it recovers. Last, the workers' logs hold no address and no token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendDigest } from '../../src/delivery/send-digest.js';
import { waitForDigestSettled } from '../../src/delivery/wait-for-digest.js';
import type { Digest } from '../../src/digests/digest.js';
import { createHttpApp } from '../../src/http/server.js';
import { runLetterpress } from '../helpers/cli.js';
import { spawnWorker, type LetterpressProcess } from '../helpers/processes.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { smtpReply, startSmtpSink } from '../helpers/smtp-sink.js';
import { waitUntil } from '../helpers/wait-until.js';
import { bitmapIds } from '../reliability/send-rig.js';
import { readHeaders, startDeliveryBench, type DeliveryBench } from '../delivery/delivery-fixture.js';
import { parsePrometheusText, sampleValue } from './prometheus-text.js';

const SECRET = 'metrics-test-secret-0123456789abcdef-0123456789';
const OPS_TOKEN = 'ops-token-for-the-metrics-test-0123456789abcdef';
const READERS = 40;

describe('metrics of a digest delivered by two worker processes', () => {
  let bench: DeliveryBench;
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;
  let workers: LetterpressProcess[] = [];
  let workerEnv: Record<string, string>;
  let readers: { id: number; email: string }[];
  let digest: Digest;
  const attempts = new Map<string, number>();

  beforeAll(async () => {
    sink = await startSmtpSink({
      onRecipient: (address) => {
        const seen = (attempts.get(address) ?? 0) + 1;
        attempts.set(address, seen);
        // The refusals name the address, as real relays do: the logs must not repeat it.
        if (address === 'reader-3@example.org') return smtpReply(550, `5.1.1 <${address}>: user unknown`);
        if (address === 'reader-4@example.org') return smtpReply(550, `5.7.1 <${address}> refused by policy`);
        if (address === 'reader-5@example.org' && seen === 1) return smtpReply(451, `4.7.1 <${address}> try later`);
        return undefined;
      },
    });
    bench = await startDeliveryBench({
      smtpUrl: sink.url,
      env: { LETTERPRESS_SECRET: SECRET, OPS_TOKENS: `prometheus:${OPS_TOKEN}`, DELIVERY_BATCH_SIZE: '10' },
    });
    workerEnv = {
      REDIS_URL: TEST_REDIS_URL,
      LETTERPRESS_PREFIX: bench.prefix,
      SMTP_URL: sink.url,
      SMTP_POOL_SIZE: '2',
      DELIVERY_BATCH_SIZE: '10',
      DELIVERY_CONCURRENCY: '2',
      LETTERPRESS_SECRET: SECRET,
      WORKER_HEARTBEAT_MS: '300',
      LOG_LEVEL: 'debug',
      NODE_ENV: 'test',
    };
    readers = await bench.addReaders(READERS);
    digest = await bench.createDigest(['Harbour wall repairs begin', 'Ferry timetable for winter']);
  });

  afterAll(async () => {
    for (const worker of workers) worker.kill('SIGCONT');
    await Promise.all(workers.map((worker) => worker.stop('SIGKILL', 5_000)));
    await bench?.close();
    await sink?.close();
  });

  const scrape = async () => {
    const response = await createHttpApp(bench.app).request('/metrics', {
      headers: { authorization: `Bearer ${OPS_TOKEN}` },
    });
    expect(response.status).toBe(200);
    return parsePrometheusText(await response.text());
  };

  it('counts every outcome exactly as the ledger records it, whichever process recorded it', async () => {
    // Hold delivery until fan-out froze the recipients, so that five readers can leave in between (skipped).
    await bench.app.queues.admin.pause('deliver');
    workers = [spawnWorker({ env: workerEnv }), spawnWorker({ env: workerEnv })];
    await waitUntil(
      'both workers to beat',
      async () => (await bench.app.heartbeats.list(new Date())).filter((w) => !w.isStale).length === 2,
    );
    await sendDigest(bench.app, { digestId: digest.id });
    await waitUntil('fan-out', async () => (await bench.app.digests.get(digest.id))?.fannedOutAt);
    const leavers = readers.slice(20, 25);
    for (const reader of leavers) await bench.app.subscribers.unsubscribe(reader.id);
    await bench.app.queues.admin.resume('deliver');

    const settled = await waitForDigestSettled(bench.app, digest.id, { timeoutMs: 45_000 });
    expect(settled.status).toBe('sent');
    expect(settled.counts).toEqual({ recipients: READERS, delivered: READERS - 5 - 2, failed: 2, skipped: 5 });
    const ledgerIds = async (key: 'digestSent' | 'digestFailed' | 'digestSkipped') =>
      bitmapIds(await bench.app.redis.getBuffer(bench.app.keys[key](digest.id)));
    const sent = await ledgerIds('digestSent');
    const failed = await ledgerIds('digestFailed');
    const skipped = await ledgerIds('digestSkipped');

    // Retries and latencies arrive with the next heartbeat of the worker that saw them.
    const sends = () => [...attempts.values()].reduce((sum, n) => sum + n, 0);
    const metrics = await waitUntil('the workers to report every send', async () => {
      const scraped = await scrape();
      return sampleValue(scraped, 'letterpress_send_duration_seconds_count') === sends() ? scraped : undefined;
    });
    const deliveries = (outcome: string, replyClass: string) =>
      sampleValue(metrics, 'letterpress_deliveries_total', { outcome, reply_class: replyClass });

    expect(deliveries('delivered', 'ok')).toBe(sent.size);
    expect(sent.size).toBe(33);
    expect(deliveries('suppressed', 'permanent-mailbox')).toBe(1);
    expect(deliveries('failed', 'permanent-other')).toBe(1);
    expect(deliveries('suppressed', 'permanent-mailbox') + deliveries('failed', 'permanent-other')).toBe(failed.size);
    expect(deliveries('skipped', 'none')).toBe(skipped.size);
    expect(skipped).toEqual(new Set(leavers.map((reader) => reader.id)));
    expect(deliveries('retried', 'transient')).toBe(1);
    expect(sink.messages).toHaveLength(33);

    expect(sampleValue(metrics, 'letterpress_jobs_total', { queue: 'fanout', result: 'completed' })).toBe(1);
    expect(sampleValue(metrics, 'letterpress_jobs_total', { queue: 'deliver', result: 'completed' })).toBe(4);
    expect(sampleValue(metrics, 'letterpress_jobs_total', { queue: 'deliver', result: 'failed' })).toBe(0);
    expect(sampleValue(metrics, 'letterpress_queue_jobs', { queue: 'deliver', state: 'waiting' })).toBe(0);
    expect(sampleValue(metrics, 'letterpress_queue_workers', { queue: 'deliver' })).toBeGreaterThanOrEqual(2);
    expect(sampleValue(metrics, 'letterpress_workers', { state: 'alive' })).toBe(2);
    expect(sampleValue(metrics, 'letterpress_relay_up', { relay: `127.0.0.1:${sink.port}` })).toBe(1);
    expect(sampleValue(metrics, 'letterpress_relay_set_aside', { relay: `127.0.0.1:${sink.port}` })).toBe(0);
    expect(sampleValue(metrics, 'letterpress_redis_up')).toBe(1);
    // A digest that is sent is no longer in flight.
    expect(metrics.filter((sample) => sample.name === 'letterpress_digest_recipients')).toEqual([]);
  }, 90_000);

  it('a worker that stops beating shows in health --worker and the metrics, and recovers when it beats again', async () => {
    const beating = await bench.app.heartbeats.list(new Date());
    const newest = workers.find((worker) => worker.pid === beating[0]?.pid);
    expect(newest).toBeDefined();
    const env = { LETTERPRESS_PREFIX: bench.prefix, REDIS_URL: TEST_REDIS_URL };

    newest?.kill('SIGSTOP');
    await waitUntil('the stopped worker to count as stale', async () =>
      (await bench.app.heartbeats.list(new Date())).some((w) => w.isStale),
    );
    const unhealthy = await runLetterpress(['health', '--worker', '--json'], env);
    expect(unhealthy.code).toBe(1);
    expect(unhealthy.json).toMatchObject({ healthy: false, reason: expect.stringContaining('stopped beating') });
    const metrics = await scrape();
    expect(sampleValue(metrics, 'letterpress_workers', { state: 'stale' })).toBe(1);
    expect(sampleValue(metrics, 'letterpress_workers', { state: 'alive' })).toBe(1);
    const age = metrics.find(
      (sample) => sample.name === 'letterpress_worker_heartbeat_age_seconds' && sample.labels.worker === beating[0]?.id,
    );
    expect(age?.value).toBeGreaterThan(2);

    newest?.kill('SIGCONT');
    await waitUntil('the worker to beat again', async () =>
      (await bench.app.heartbeats.list(new Date())).every((w) => !w.isStale),
    );
    const healthy = await runLetterpress(['health', '--worker', '--json'], env);
    expect(healthy.code).toBe(0);
    expect(healthy.json).toMatchObject({ healthy: true });
  }, 60_000);

  it('the workers’ logs name the digest, job and queue of every job line, and never an address or a token', async () => {
    await Promise.all(workers.map((worker) => worker.stop('SIGTERM', 15_000)));
    // A clean stop removes the worker's record: it is not reported as stopped beating.
    expect(await bench.app.heartbeats.list(new Date())).toEqual([]);

    const lines = workers.flatMap((worker) => worker.stderr().split('\n').filter(Boolean));
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const jobLines = records.filter((record) => record.jobId !== undefined);
    expect(jobLines.length).toBeGreaterThan(4);
    for (const record of jobLines) {
      expect(record).toMatchObject({ queue: expect.any(String), digestId: digest.id, jobId: expect.any(String) });
    }
    expect(records.some((record) => record.msg === 'job failed' || record.msg === 'delivery batch done')).toBe(true);

    const tokens = sink.messages.flatMap((message) =>
      (readHeaders(message.raw).get('list-unsubscribe') ?? []).map(
        (value) => /\/unsubscribe\/([^>]+)>/.exec(value)?.[1] ?? '',
      ),
    );
    expect(tokens.filter(Boolean)).toHaveLength(33);
    const secrets = [...readers.map((reader) => reader.email), ...tokens, SECRET, OPS_TOKEN, 'example.org'];
    const log = lines.join('\n');
    for (const secret of secrets) expect(log.includes(secret), `the logs hold ${secret}`).toBe(false);
  }, 60_000);
});
