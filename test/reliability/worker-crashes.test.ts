/** Scenarios 1 and 7, small: workers SIGKILLed at random instants, and a worker stopped with SIGTERM mid-batch. */
import { describe, expect, it } from 'vitest';
import { findScenario, smallScale } from './scenarios.js';

describe('a send survives its workers dying', () => {
  it('every reader gets the digest exactly once although workers are SIGKILLed mid-send and restarted', async () => {
    const result = await findScenario('kill-storm').run(smallScale);
    expect(result.facts.kills).toBe(smallScale.kills);
    expect(result.problems).toEqual([]);
    expect(result.lost).toBe(0);
    expect(result.delivered + result.duplicatesAtKill + result.duplicatesAfterLostReply).toBeGreaterThanOrEqual(
      result.recipients,
    );
  }, 240_000);

  it('a worker stopped with SIGTERM mid-batch hands its work back and the next worker finishes without duplicates', async () => {
    const result = await findScenario('sigterm-mid-batch').run(smallScale);
    expect(result.facts.acceptedBeforeSigterm).toBeLessThan(result.recipients);
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ delivered: result.recipients, duplicates: 0, lost: 0 });
  }, 180_000);
});
