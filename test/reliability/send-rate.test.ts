/**
 * The send rate, as the relay sees it: two `letterpress worker` processes share one limit through Redis, so the
 * relay never takes more than the rate in any second (to ±5%), every reader still gets exactly one copy, and
 * `letterpress rate set` in the middle of a send changes the pace of the seconds that follow.
 */
import { describe, expect, it } from 'vitest';
import { histogramOfInstants, summarizeRateWindows } from '../../bench/summarize-acceptances.js';
import { runLetterpress } from '../helpers/cli.js';
import { sleep } from '../helpers/wait-until.js';
import { openSendRig, type RigOptions, type SendRig } from './send-rig.js';

/** Two workers with room for far more than the rate: 2 × 4 batches, 20 connections each, a relay that answers at once. */
function rateRig(label: string, recipients: number, perSecond: number): RigOptions {
  return {
    label,
    recipients,
    batchSize: 250,
    concurrency: 4,
    poolSize: 20,
    smtpTimeoutMs: 10_000,
    extraEnv: { SEND_RATE_PER_SECOND: String(perSecond) },
  };
}

async function acceptanceInstants(rig: SendRig): Promise<number[]> {
  return (await rig.relay.snapshot()).accepted.map((record) => record.acceptedAt);
}

describe('the send rate every worker shares', () => {
  it('two worker processes at 200 messages/s deliver 4,000 readers exactly once and never more than 210 in a second', async () => {
    const rig = await openSendRig(rateRig('rate-200', 4_000, 200));
    try {
      await rig.startWorkers(2);
      await rig.send();
      const observation = await rig.waitForSent({ timeoutMs: 120_000 });
      const audit = await rig.audit({ atSent: observation.atSent });
      expect(audit.problems).toEqual([]);
      expect(audit).toMatchObject({ recipients: 4_000, delivered: 4_000, duplicates: 0, lost: 0 });

      const { histogram } = histogramOfInstants(await acceptanceInstants(rig));
      const windows = summarizeRateWindows(histogram, 200);
      console.info(
        `200/s: ${windows.windowCounts.join(' ')}; min ${windows.min}, max ${windows.max}, ` +
          `mean ${windows.mean.toFixed(1)}, sliding max ${windows.slidingMax}`,
      );
      expect(windows.slidingMax).toBeLessThanOrEqual(210);
      expect(windows.max).toBeLessThanOrEqual(210);
      // The limit holds the pace without starving it (how close the seconds come to the rate from below depends on
      // how busy the machine is: the figures are printed above and measured by `npm run bench`).
      expect(windows.mean).toBeGreaterThanOrEqual(150);
    } finally {
      await rig.close();
    }
  }, 240_000);

  it('`letterpress rate set 300` in the middle of a send at 100/s makes the following seconds run at 300', async () => {
    const rig = await openSendRig(rateRig('rate-change', 4_000, 100));
    let changeStartedAt = 0;
    let changedAt = 0;
    try {
      await rig.startWorkers(2);
      await rig.send();
      const observation = await rig.waitForSent({
        timeoutMs: 120_000,
        during: async (signal) => {
          while (!signal.aborted && (await rig.relay.stats()).accepted < 300) await sleep(50);
          if (signal.aborted) return;
          changeStartedAt = Date.now();
          const result = await runLetterpress(['rate', 'set', '300'], rig.workerEnv);
          changedAt = Date.now();
          if (result.code !== 0) throw new Error(`rate set failed: ${result.stderr}`);
        },
      });
      const audit = await rig.audit({ atSent: observation.atSent });
      expect(audit.problems).toEqual([]);
      expect(audit).toMatchObject({ delivered: 4_000, duplicates: 0, lost: 0 });
      expect(changedAt).toBeGreaterThan(0);

      const instants = await acceptanceInstants(rig);
      const before = summarizeRateWindows(
        histogramOfInstants(instants.filter((at) => at < changeStartedAt)).histogram,
        100,
      );
      // The new rate applies to permits reserved after it is stored: at most a quarter of a second later.
      const after = summarizeRateWindows(
        histogramOfInstants(instants.filter((at) => at >= changedAt + 250)).histogram,
        300,
      );
      console.info(
        `before: ${before.windowCounts.join(' ')} (sliding max ${before.slidingMax}); ` +
          `after: ${after.windowCounts.join(' ')} (sliding max ${after.slidingMax})`,
      );
      expect(before.windowCounts.length).toBeGreaterThanOrEqual(2);
      expect(before.slidingMax).toBeLessThanOrEqual(105);
      expect(after.windowCounts.length).toBeGreaterThanOrEqual(3);
      expect(after.slidingMax).toBeLessThanOrEqual(315);
      expect(after.mean).toBeGreaterThan(before.max * 1.5);
    } finally {
      await rig.close();
    }
  }, 240_000);
});
