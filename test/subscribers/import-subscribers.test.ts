/**
 * Importing readers from CSV files as editors' spreadsheets write them (any column order and case, a byte-order mark,
 * CRLF, quoted names, blank lines, broken rows): who is stored, and every rejected row named by the line a person
 * sees in an editor.
 */
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { NewsletterSchema } from '../../src/config.js';
import { redisKeys } from '../../src/redis.js';
import { importSubscribers } from '../../src/subscribers/import-subscribers.js';
import { RedisSubscriberStore } from '../../src/subscribers/subscriber-store.js';
import { openTestRedis } from '../helpers/redis.js';

const newsletters = [
  NewsletterSchema.parse({ id: 'daily', name: 'The Daily Digest' }),
  NewsletterSchema.parse({ id: 'culture', name: 'Culture Weekly' }),
];

describe('importing a CSV file', () => {
  let redis: Redis;
  let store: RedisSubscriberStore;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    const opened = await openTestRedis('import');
    redis = opened.redis;
    cleanup = opened.cleanup;
    store = new RedisSubscriberStore(redis, redisKeys(opened.prefix), {
      suppressionKey: 'import-test-key-0123456789abcdef',
    });
  });
  afterEach(async () => cleanup());

  async function run(text: string, isConfirmed = true) {
    const rejects: [number, string][] = [];
    const queued: unknown[] = [];
    const result = await importSubscribers(
      { subscribers: store, newsletters, enqueueConfirmations: async (jobs) => void queued.push(...jobs) },
      Readable.from([Buffer.from(text)]),
      { isConfirmed, onReject: (line, reason) => void rejects.push([line, reason]), chunkSize: 2 },
    );
    return { result, rejects, queued };
  }

  it('names each rejected row by the line an editor sees, across blank lines, multi-line cells and broken rows', async () => {
    const text = [
      '\uFEFFNewsletters,EMAIL,Name,Phone',
      'daily,a@example.org,Ada,1',
      'daily,b@example.org,Bea,2,extra',
      'culture;daily,c@example.org,"Lovelace, Ada",3',
      '',
      'daily,d@example.org,"Two',
      'lines",4',
      'daily,e@example.org',
      'weekly,f@example.org,Fay,6',
      'daily,not-an-address,Gil,7',
      'daily,A@EXAMPLE.ORG,Again,8',
      'daily,h@example.org,Hal,9',
    ].join('\r\n');
    const { result, rejects } = await run(text);
    expect(rejects).toEqual([
      [3, expect.stringMatching(/^malformed CSV: /)],
      [8, expect.stringMatching(/^malformed CSV: /)],
      [9, 'unknown newsletter: weekly'],
      [10, 'bad address: must be an email address'],
      [11, 'duplicate: the address is on an earlier line'],
    ]);
    expect(result).toEqual({ imported: 4, created: 4, rejected: 5, confirmationsQueued: 0 });
    expect((await store.getByEmail('c@example.org'))?.name).toBe('Lovelace, Ada');
    expect((await store.getByEmail('c@example.org'))?.newsletters).toEqual(['culture', 'daily']);
    expect((await store.getByEmail('d@example.org'))?.name).toBe('Two lines');
    expect(await store.getByEmail('b@example.org')).toBeUndefined();
    expect(await store.countActive('daily')).toBe(4);
  });

  it('a bad name is refused whole, and a header without email stops before anything is stored', async () => {
    const { rejects } = await run('email,name\nx@example.org,"Bell\u0007"\ny@example.org,Yan');
    expect(rejects).toEqual([[2, 'bad name: must be one line without control characters']]);
    expect(await store.getByEmail('y@example.org')).toBeDefined();
    await expect(run('name,newsletters\nAda,daily\n')).rejects.toThrow(
      /must hold an email column \(found: name, newsletters\)/,
    );
    await expect(run('')).rejects.toThrow(/the CSV file is empty/);
  });

  it('without confirmation, new readers wait as pending with a confirmation queued, existing ones keep what they have', async () => {
    await store.add({ email: 'known@example.org', newsletterIds: ['daily'], status: 'active' });
    const { result, queued } = await run(
      'email,newsletters\nnew@example.org,culture\nknown@example.org,culture\n',
      false,
    );
    expect(result).toMatchObject({ imported: 2, created: 1, confirmationsQueued: 2 });
    expect((await store.getByEmail('new@example.org'))?.status).toBe('pending');
    const known = await store.getByEmail('known@example.org');
    expect(known?.status).toBe('active');
    expect(known?.requested).toEqual(['culture']);
    expect(await store.isActive(known?.id ?? 0, 'culture')).toBe(false);
    expect(queued).toHaveLength(2);
  });
});
