/** The deliver worker's processor, run as BullMQ runs it, many times in one long-lived process. */
import { getEventListeners } from 'node:events';
import type { Job } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { createDeliverProcessor } from '../../workers/deliver-worker.js';
import { startDeliveryBench } from '../delivery/delivery-fixture.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/**
 * What a signal keeps alive on behalf of others: its abort listeners, plus (Node 20) the signals derived from it by
 * AbortSignal.any, which it keeps referenced for the rest of its life.
 */
function heldBy(signal: AbortSignal): number {
  const dependants = Object.getOwnPropertySymbols(signal)
    .filter((symbol) => symbol.description === 'kDependantSignals')
    .map((symbol) => (signal as unknown as Record<symbol, unknown>)[symbol])
    .find((value): value is { size: number } => typeof (value as { size?: unknown } | undefined)?.size === 'number');
  return getEventListeners(signal, 'abort').length + (dependants?.size ?? 0);
}

describe('the deliver worker', () => {
  it('keeps nothing per finished job on the shutdown signal, however many jobs a process runs', async () => {
    const bench = await startDeliveryBench({ smtpUrl: 'smtp://127.0.0.1:9' });
    cleanups.push(bench.close);
    const shutdown = new AbortController();
    const process = createDeliverProcessor(bench.app, { shutdownSignal: shutdown.signal });
    // Jobs of a digest that no longer exists: each one finishes at once, as most jobs of a long run eventually do.
    for (let i = 0; i < 200; i += 1) {
      const job = {
        id: `deliver-gone-${i}`,
        data: { digestId: 'daily-20261127-060000-gone', fromId: i * 10 + 1, toId: i * 10 + 10 },
        attemptsMade: 0,
        opts: { attempts: 8 },
      } as unknown as Job;
      const jobSignal = new AbortController().signal;
      await expect(process(job, 'token', jobSignal)).resolves.toEqual({ delivered: 0, failed: 0, skipped: 0 });
    }
    expect(heldBy(shutdown.signal)).toBe(0);
  });
});
