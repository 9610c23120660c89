/** Scenario 8, small: three worker processes share one digest against a relay of limited capacity. */
import { describe, expect, it } from 'vitest';
import { findScenario, smallScale } from './scenarios.js';

describe('a send scales out over worker processes', () => {
  it('three workers against a relay that takes few connections and closes each after a few messages: every reader once, every worker sends a share', async () => {
    const result = await findScenario('scale-out').run(smallScale);
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ delivered: result.recipients, duplicates: 0, lost: 0, failed: 0 });
    // The relay's limits really bit: connections were closed after their quota, and never more were open than allowed.
    expect(result.facts.closedAfterLimit).toBeGreaterThan(0);
    expect(result.facts.refusedOverCapacity).toBeGreaterThan(0);
    expect(result.facts.peakConnections).toBeLessThanOrEqual(smallScale.relayCapacity.maxConnections);
    for (const worker of ['worker1', 'worker2', 'worker3']) expect(result.facts[worker], worker).toBeGreaterThan(0);
    expect((result.facts.worker1 ?? 0) + (result.facts.worker2 ?? 0) + (result.facts.worker3 ?? 0)).toBe(
      result.recipients,
    );
  }, 180_000);
});
