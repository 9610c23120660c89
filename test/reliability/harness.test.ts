/**
 * The reliability harness itself: the fault-injecting relay does what the scenarios rely on, and a private Redis
 * keeps its data across a restart. If these fail, the scenario results mean nothing.
 */
import nodemailer from 'nodemailer';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  isPermanentlyRefused,
  startFaultySmtp,
  startFaultySmtpProcess,
  type FaultySmtp,
} from '../helpers/faulty-smtp.js';
import { startPrivateRedis, type PrivateRedis } from '../../src/private-redis.js';
import { waitUntil } from '../helpers/wait-until.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function relay(plan: Parameters<typeof startFaultySmtp>[0] = {}): Promise<FaultySmtp> {
  const started = await startFaultySmtp(plan);
  cleanups.push(() => started.close());
  return started;
}

function client(port: number, socketTimeout = 2_000, pool = false) {
  const transport = nodemailer.createTransport({
    pool,
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: true,
    socketTimeout,
    connectionTimeout: 2_000,
    greetingTimeout: 2_000,
  });
  cleanups.push(async () => transport.close());
  return transport;
}

function message(to: string, id: string) {
  return {
    envelope: { from: 'news@example.test', to },
    raw: `From: news@example.test\r\nTo: ${to}\r\nSubject: hi\r\nMessage-ID: <${id}@example.test>\r\n\r\nHello\r\n`,
  };
}

async function outcome(
  promise: Promise<unknown>,
): Promise<{ ok: true } | { ok: false; code: string; responseCode?: number }> {
  try {
    await promise;
    return { ok: true };
  } catch (error) {
    const e = error as { code?: string; responseCode?: number };
    return {
      ok: false,
      code: String(e.code),
      ...(e.responseCode !== undefined ? { responseCode: e.responseCode } : {}),
    };
  }
}

describe('the fault-injecting relay', () => {
  it('records each accepted message with its Message-ID and recipient', async () => {
    const smtp = await relay({ keepRaw: true });
    await client(smtp.port).sendMail(message('Reader@Example.test', 'a1'));
    expect(smtp.accepted).toHaveLength(1);
    expect(smtp.accepted[0]).toMatchObject({
      messageId: '<a1@example.test>',
      recipient: 'reader@example.test',
      wasStalled: false,
    });
    expect(smtp.accepted[0]?.raw?.toString()).toContain('Hello');
  });

  it('answers temporary failures without accepting anything', async () => {
    const smtp = await relay({ plan: { temporaryShare: 1 } });
    const results = [];
    for (let i = 0; i < 6; i++)
      results.push(await outcome(client(smtp.port).sendMail(message(`r${i}@example.test`, `t${i}`))));
    expect(
      results.every((r) => !r.ok && r.responseCode !== undefined && r.responseCode >= 400 && r.responseCode < 500),
    ).toBe(true);
    expect(smtp.accepted).toHaveLength(0);
    expect(smtp.stats.temporaryAtMailFrom + smtp.stats.temporaryAfterData).toBe(6);
  });

  it('refuses the same mailboxes permanently on every attempt', async () => {
    const smtp = await relay({ plan: { permanentShare: 0.5, seed: 7 } });
    const addresses = Array.from({ length: 20 }, (_, i) => `p${i}@example.test`);
    const refused = addresses.filter((a) => isPermanentlyRefused(a, 0.5, 7));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.length).toBeLessThan(addresses.length);
    const transport = client(smtp.port, 2_000, true);
    for (const attempt of [1, 2]) {
      for (const address of addresses) {
        const result = await outcome(transport.sendMail(message(address, `p-${attempt}-${address}`)));
        expect(result.ok ? 'accepted' : `refused ${result.responseCode}`).toBe(
          refused.includes(address) ? 'refused 550' : 'accepted',
        );
      }
    }
    expect([...smtp.permanentlyRefused].sort()).toEqual([...refused].sort());
  });

  it('drops the connection in the middle of DATA and accepts nothing', async () => {
    const smtp = await relay({ plan: { dropShare: 1 } });
    const result = await outcome(client(smtp.port).sendMail(message('d@example.test', 'd1')));
    expect(result.ok).toBe(false);
    expect(smtp.stats.dropped).toBe(1);
    expect(smtp.accepted).toHaveLength(0);
  });

  it('a stall past the client timeout that accepts leaves an acceptance the client never heard of', async () => {
    const smtp = await relay({ plan: { stallShare: 1, stallMs: 1_500, stallOutcome: 'accept' } });
    const result = await outcome(client(smtp.port, 300).sendMail(message('s@example.test', 's1')));
    expect(result).toMatchObject({ ok: false, code: 'ETIMEDOUT' });
    expect(smtp.accepted).toMatchObject([{ messageId: '<s1@example.test>', wasStalled: true }]);
  });

  it('a stall past the client timeout that rejects accepts nothing', async () => {
    const smtp = await relay({ plan: { stallShare: 1, stallMs: 1_000, stallOutcome: 'reject' } });
    const result = await outcome(client(smtp.port, 300).sendMail(message('s@example.test', 's2')));
    expect(result).toMatchObject({ ok: false, code: 'ETIMEDOUT' });
    expect(smtp.accepted).toHaveLength(0);
    expect(smtp.stats.stalledRejected).toBe(1);
  });

  it('marks an acceptance whose 250 was cut off by going down as a lost reply', async () => {
    const smtp = await relay({ plan: { replyDelayMs: 2_000 } });
    const sending = outcome(client(smtp.port, 5_000).sendMail(message('cut@example.test', 'c1')));
    for (let i = 0; i < 100 && smtp.accepted.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await smtp.setDown(true);
    expect(await sending).toMatchObject({ ok: false });
    expect(smtp.accepted).toMatchObject([{ messageId: '<c1@example.test>', isReplyLost: true }]);
    expect(smtp.stats.repliesLost).toBe(1);
  });

  it('marks an acceptance it completes after its own cut as a lost reply: the client never saw the 250', async () => {
    const smtp = await relay();
    smtp.holdMessages(true);
    const sending = outcome(client(smtp.port, 5_000).sendMail(message('late@example.test', 'late1')));
    await waitUntil('the relay to hold the message, received in full', () => smtp.heldMessages() === 1);
    // The connection is cut while the relay still holds a message it has received in full...
    await smtp.setDown(true);
    expect(await sending).toMatchObject({ ok: false });
    // ...and it takes responsibility for it afterwards: a reply that has nowhere to go.
    smtp.holdMessages(false);
    await waitUntil('the relay to accept the message', () => smtp.accepted.length === 1);
    expect(smtp.accepted).toMatchObject([{ messageId: '<late1@example.test>', isReplyLost: true }]);
    expect(smtp.stats.repliesLost).toBe(1);
  });

  it('goes down (connections refused) and comes back on the same port', async () => {
    const smtp = await relay();
    await smtp.setDown(true);
    const refused = await outcome(client(smtp.port).sendMail(message('x@example.test', 'x1')));
    expect(refused).toMatchObject({ ok: false, code: 'ESOCKET' });
    await smtp.setDown(false);
    await client(smtp.port).sendMail(message('x@example.test', 'x2'));
    expect(smtp.accepted.map((m) => m.messageId)).toEqual(['<x2@example.test>']);
  });

  it('holds transactions at RCPT TO while its gate is closed and lets them through when it opens', async () => {
    const smtp = await relay();
    smtp.setHolding(true);
    const sending = client(smtp.port).sendMail(message('held@example.test', 'h1'));
    for (let i = 0; i < 100 && smtp.held().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(smtp.held()).toEqual(['held@example.test']);
    expect(smtp.accepted).toHaveLength(0);
    smtp.setHolding(false);
    await sending;
    expect(smtp.held()).toEqual([]);
    expect(smtp.accepted.map((m) => m.messageId)).toEqual(['<h1@example.test>']);
  });

  it('runs in a process of its own and answers over IPC', async () => {
    const smtp = await startFaultySmtpProcess({ plan: { permanentShare: 1 } });
    cleanups.push(() => smtp.close());
    const refused = await outcome(client(smtp.port).sendMail(message('ipc@example.test', 'i1')));
    expect(refused).toMatchObject({ ok: false, responseCode: 550 });
    await smtp.configure({});
    await client(smtp.port).sendMail(message('ipc@example.test', 'i2'));
    const snapshot = await smtp.snapshot();
    expect(snapshot.accepted.map((m) => m.messageId)).toEqual(['<i2@example.test>']);
    expect(snapshot.permanentlyRefused).toEqual(['ipc@example.test']);
  });
});

describe('a private Redis', () => {
  let redis: PrivateRedis | undefined;
  afterEach(async () => {
    await redis?.close();
    redis = undefined;
  });

  it('keeps acknowledged writes across a SIGKILL and a graceful restart on the same port', async () => {
    redis = await startPrivateRedis();
    expect(redis.port).not.toBe(6379);
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
    connection.on('error', () => {});
    try {
      await connection.set('kept', 'before-kill');
      await redis.restart('kill');
      expect(await connection.get('kept')).toBe('before-kill');
      await connection.set('kept', 'before-shutdown');
      await redis.restart('graceful');
      expect(await connection.get('kept')).toBe('before-shutdown');
      expect(await connection.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    } finally {
      connection.disconnect();
    }
  });
});
