/** Scenarios 1 and 7, small: workers SIGKILLed at random instants, and a worker stopped with SIGTERM mid-batch. */
import { describe, expect, it } from 'vitest';
import { findScenario, smallScale } from './scenarios.js';

describe('a send survives its workers dying', () => {
  it('every reader gets the digest exactly once although workers are SIGKILLed mid-send and restarted', async () => {
    const result = await findScenario('kill-storm').run(smallScale);
    expect(result.facts.kills).toBe(smallScale.kills);
    expect(result.problems).toEqual([]);
    expect(result.lost).toBe(0);
    // Every reader got the digest, and every second copy has its explanation (a kill, or a relay reply lost).
    expect(result.reached).toBe(result.recipients);
    expect(result.duplicates).toBe(result.duplicatesAtKill + result.duplicatesAfterLostReply);
  }, 240_000);

  it('a worker stopped with SIGTERM mid-batch hands its work back and the next worker finishes without duplicates', async () => {
    const result = await findScenario('sigterm-mid-batch').run(smallScale);
    expect(result.facts.acceptedBeforeSigterm).toBeLessThan(result.recipients);
    expect(result.problems).toEqual([]);
    expect(result).toMatchObject({ delivered: result.recipients, duplicates: 0, lost: 0 });
  }, 180_000);
});
