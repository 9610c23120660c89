/** Scenarios 5 and 6, small: `digest send` run three times, and readers who leave while their batch is queued or in flight. */
import { describe, expect, it } from 'vitest';
import { findScenario, smallScale } from './scenarios.js';

describe('what editors and readers do during a send', () => {
  it('`digest send` run twice at once and again after it finished delivers one copy per reader', async () => {
    const result = await findScenario('double-send').run(smallScale);
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ delivered: result.recipients, duplicates: 0, lost: 0 });
  }, 180_000);

  it('a reader removed while their batch waits or is in flight gets nothing once the removal is recorded', async () => {
    const result = await findScenario('removed-mid-send').run(smallScale);
    expect(result.facts.removed).toBeGreaterThan(0);
    expect(result.problems).toEqual([]);
    expect(result.skipped).toBeGreaterThanOrEqual(result.facts.removed ?? Number.POSITIVE_INFINITY);
    expect(result).toMatchObject({ duplicates: 0, lost: 0 });
  }, 180_000);
});
