/** Scenario 9, small: the deliver queue drained and resumed twice mid-send. */
import { describe, expect, it } from 'vitest';
import { findScenario, smallScale } from './scenarios.js';

describe('an operator drains the queue mid-send', () => {
  it('draining the deliver queue twice mid-send and resuming delivers every reader exactly once, and nothing while drained', async () => {
    const result = await findScenario('drain-resume').run(smallScale);
    console.info(result.notes.join('\n'));
    expect(result.problems).toEqual([]);
    expect(result.facts).toMatchObject({ drains: smallScale.drains, acceptedWhileDrained: 0 });
    expect(result).toMatchObject({ delivered: result.recipients, duplicates: 0, lost: 0 });
  }, 240_000);
});
