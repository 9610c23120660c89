/**
 * After a digest is sent, readers' addresses live in their subscriber records and nowhere else: not in job payloads,
 * job results or failure reasons, not in the queue's event streams, not in the ledger or the audit, and not in a
 * single log line, even with the relay echoing addresses back in its refusals and logging at its most verbose.
 */
import type { RedisClient } from '../../src/redis.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendDigest } from '../../src/delivery/send-digest.js';
import { waitForDigestSettled } from '../../src/delivery/wait-for-digest.js';
import { createLogger } from '../../src/logger.js';
import { createToken } from '../../src/subscribers/tokens.js';
import { startDeliveryBench, type DeliveryBench } from '../delivery/delivery-fixture.js';
import { smtpReply, startSmtpSink } from '../helpers/smtp-sink.js';

/** Every key under the prefix with a readable dump of everything it holds, whatever its type. */
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
      dump.set(key, `${type} ${JSON.stringify(content)}`);
    }
  } while (cursor !== '0');
  return dump;
}

describe('after a send', () => {
  let bench: DeliveryBench;
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;
  const logLines: string[] = [];
  let readers: { id: number; email: string }[] = [];
  let digestId = '';

  beforeAll(async () => {
    const greylisted = new Set<string>();
    sink = await startSmtpSink({
      onRecipient: (address) => {
        // Relays echo the address back in their replies; these must not end up anywhere.
        if (address === 'reader-3@example.org') return smtpReply(550, `5.1.1 <${address}>: Recipient address rejected`);
        if (address === 'reader-6@example.org')
          return smtpReply(554, `5.7.1 <${address}>: Recipient address rejected: Access denied`);
        if (address === 'reader-5@example.org' && !greylisted.has(address)) {
          greylisted.add(address);
          return smtpReply(451, `4.7.1 <${address}>: greylisted, try again later`);
        }
        return undefined;
      },
    });
    const logger = createLogger('trace', 'letterpress', {
      destination: { write: (line: string) => logLines.push(line) },
    });
    bench = await startDeliveryBench({ smtpUrl: sink.url, logger });
    readers = await bench.addReaders(12);
    const digest = await bench.createDigest(['Harbour wall repairs begin in spring', 'Ferry timetable changes']);
    digestId = digest.id;
    const workers = await bench.startWorkers();
    await sendDigest(bench.app, { digestId });
    await waitForDigestSettled(bench.app, digestId, { timeoutMs: 45_000 });
    await bench.waitForQueuesIdle();
    await workers.close();
  });

  afterAll(async () => {
    await bench?.close();
    await sink?.close();
  });

  it('went through the relay’s refusals and retries, so there was something to leak', async () => {
    const digest = await bench.app.digests.get(digestId);
    expect(digest?.counts).toEqual({ recipients: 12, delivered: 10, failed: 2, skipped: 0 });
    expect(sink.messages.map((m) => m.envelopeTo[0])).toContain('reader-5@example.org');
    const failures = await bench.app.ledger.listFailures(digestId);
    expect(failures.map((f) => f.reason)).toEqual([
      '550 5.1.1 [address]: Recipient address rejected',
      '554 5.7.1 [address]: Recipient address rejected: Access denied',
    ]);
    expect(logLines.length).toBeGreaterThan(5);
  });

  it('leaves no address or token anywhere in Redis but the subscriber records', async () => {
    const dump = await dumpPrefix(bench.app.redis, bench.prefix);
    const tag = `{${bench.prefix}}:`;
    const isSubscriberRecord = (key: string) =>
      /^subscriber:(?:\d+|by-email)$/.test(key.slice(tag.length)) || key === `${tag}suppressed`;
    // The queues' own records are among what was read: the event streams keep every job's data and failure reasons.
    expect([...dump.keys()].some((key) => key.startsWith(`${tag}q:deliver:`))).toBe(true);
    expect([...dump.keys()].some((key) => key.startsWith(`${tag}q:fanout:`))).toBe(true);

    for (const reader of readers) {
      const token = createToken(bench.app.config.secret, {
        purpose: 'unsubscribe',
        subscriberId: reader.id,
        newsletterId: 'daily',
      });
      const holders = [...dump.entries()].filter(([, content]) => content.toLowerCase().includes(reader.email));
      expect(
        holders.map(([key]) => key).filter((key) => !isSubscriberRecord(key)),
        reader.email,
      ).toEqual([]);
      // The check can see an address: the reader's own record holds it.
      expect(holders.length, reader.email).toBeGreaterThan(0);
      expect(
        [...dump.values()].some((content) => content.includes(token)),
        `token of ${reader.email}`,
      ).toBe(false);
    }
  });

  it('wrote no address or token in any log line, at trace level', () => {
    const log = logLines.join('');
    for (const reader of readers) {
      const token = createToken(bench.app.config.secret, {
        purpose: 'unsubscribe',
        subscriberId: reader.id,
        newsletterId: 'daily',
      });
      expect(log.toLowerCase()).not.toContain(reader.email);
      expect(log).not.toContain(token);
    }
    expect(log).not.toMatch(/[a-z0-9.-]+@example\.org/i);
  });
});
