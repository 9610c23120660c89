/**
 * `letterpress queue drain` as an operator runs it on a queue with work waiting: the queue is paused, nothing is
 * deleted (unlike BullMQ's own drain), the report says what is kept, and `queue resume` lets the workers carry on.
 * What a drain does to a send in progress is scenario 9 (test/reliability/drain-resume.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { deletePrefix } from '../../src/redis.js';
import { runLetterpress } from '../helpers/cli.js';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

describe('letterpress queue drain', () => {
  let app: App;
  let env: Record<string, string>;

  beforeAll(async () => {
    const prefix = uniquePrefix('queue-drain');
    env = { REDIS_URL: TEST_REDIS_URL, LETTERPRESS_PREFIX: prefix };
    app = await createApp(loadConfig(env), { logger: silentLogger });
  });
  afterAll(async () => {
    await deletePrefix(app.redis, app.config.prefix);
    await app.close();
  });

  it('pauses the deliver queue, keeps every waiting job, and resume gives them back to the workers', async () => {
    for (const fromId of [1, 501, 1001]) {
      await app.queues.enqueue('deliver', { digestId: 'drain-test-digest', fromId, toId: fromId + 499, deferrals: 0 });
    }
    const drained = await runLetterpress(['queue', 'drain', '--queue', 'deliver', '--json'], env);
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.json).toMatchObject({
      isDrained: true,
      queues: [{ name: 'deliver', isDrained: true, active: 0, waiting: 3, delayed: 0 }],
    });
    const deliver = app.queues.queues.deliver;
    expect(await deliver.isPaused()).toBe(true);
    expect(await deliver.getWaitingCount()).toBe(3);

    const text = await runLetterpress(['queue', 'drain', '--queue', 'deliver'], env);
    expect(text.stdout).toContain('deliver: paused, no job running');
    expect(text.stdout).toContain('3 waiting and 0 delayed job(s) kept for `queue resume`');

    const resumed = await runLetterpress(['queue', 'resume', '--queue', 'deliver'], env);
    expect(resumed.code).toBe(0);
    expect(await deliver.isPaused()).toBe(false);
    expect(await deliver.getWaitingCount()).toBe(3);
  }, 60_000);

  it('refuses a timeout that is not a positive whole number, naming the flag, with exit code 2', async () => {
    const result = await runLetterpress(['queue', 'drain', '--timeout', 'soon'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--timeout must be a positive whole number');
    expect(await app.queues.queues.deliver.isPaused()).toBe(false);
  }, 30_000);
});
