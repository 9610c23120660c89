/**
 * `letterpress rate` as an operator runs it: a rate set on the command line is what every worker reads (it overrides
 * SEND_RATE_PER_SECOND until cleared), a domain gets its own limit, and a mistyped rate or domain is refused with
 * the field named and exit code 2, before anything is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { redisKeys } from '../../src/redis.js';
import { RedisSendRateStore } from '../../src/delivery/send-rate-store.js';
import { runLetterpress } from '../helpers/cli.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';

describe('letterpress rate', () => {
  let redis: Redis;
  let prefix: string;
  let cleanup: () => Promise<void>;
  let env: Record<string, string>;

  beforeAll(async () => {
    ({ redis, prefix, cleanup } = await openTestRedis('rate-cli'));
    env = { REDIS_URL: TEST_REDIS_URL, LETTERPRESS_PREFIX: prefix, SEND_RATE_PER_SECOND: '50' };
  });
  afterAll(async () => cleanup());

  it('a rate set on the command line is what the workers apply, until it is cleared', async () => {
    const workersView = new RedisSendRateStore(redis, redisKeys(prefix), { defaultPerSecond: 50 });
    const set = await runLetterpress(['rate', 'set', '200', '--json'], env);
    expect(set.code, set.stderr).toBe(0);
    expect(set.json).toMatchObject({ perSecond: 200, settings: { effectivePerSecond: 200, configuredPerSecond: 50 } });
    expect((await workersView.read()).effectivePerSecond).toBe(200);

    const domain = await runLetterpress(['rate', 'set', '--domain', 'Mail.Example.COM', '2.5'], env);
    expect(domain.code, domain.stderr).toBe(0);
    expect(domain.stdout).toContain('2.5 messages/s for messages to mail.example.com');

    const unicode = await runLetterpress(['rate', 'set', '--domain', 'Bücher.example', '1', '--json'], env);
    expect(unicode.json).toMatchObject({ domain: 'xn--bcher-kva.example' });

    const show = await runLetterpress(['rate', 'show'], env);
    expect(show.stdout).toContain('rate: 200 messages/s for every worker together');
    expect(show.stdout).toContain('SEND_RATE_PER_SECOND is 50 messages/s');
    expect(show.stdout).toContain('mail.example.com  2.5 messages/s');

    const clear = await runLetterpress(['rate', 'clear', '--json'], env);
    expect(clear.json).toMatchObject({
      cleared: true,
      settings: { overridePerSecond: null, effectivePerSecond: 50, domains: { 'mail.example.com': 2.5 } },
    });
    await runLetterpress(['rate', 'clear', '--all'], env);
    expect(await workersView.read()).toMatchObject({ effectivePerSecond: 50, domains: {} });
  }, 60_000);

  it.each([
    [['rate', 'set', '-5'], 'messages per second must be a positive number'],
    [['rate', 'set', 'abc'], 'messages per second must be a positive number'],
    [['rate', 'set', '0'], 'messages per second must be a positive number'],
    [['rate', 'set', '--domain', 'a\r\nb', '10'], '--domain must be a domain name'],
    [['rate', 'set', '--domain', '-bad-.example', '10'], '--domain must be a domain name'],
    [['rate', 'set', '--domain', 'bü\r\ncher.example', '10'], '--domain must be a domain name'],
    [['rate', 'clear', '--all', '--domain', 'example.com'], '--all and --domain cannot be used together'],
  ])(
    'refuses %j with the field named and exit code 2',
    async (args, reason) => {
      const result = await runLetterpress([...args, '--json'], env);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(reason);
      expect(result.json).toMatchObject({ error: { code: 'input_invalid' } });
      expect(await redis.exists(redisKeys(prefix).sendRateLimits)).toBe(0);
    },
    30_000,
  );
});
