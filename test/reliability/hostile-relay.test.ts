/** Scenarios 3 and 4, small: a relay that refuses, drops and stalls, and a relay that goes down mid-send. */
import { describe, expect, it } from 'vitest';
import { findScenario, smallScale } from './scenarios.js';

describe('a send survives a hostile relay', () => {
  it.concurrent.each(['accept', 'reject'])(
    'with 4xx, 5xx, dropped connections and stalls that then %s, everyone deliverable gets it once and every refusal is failed and suppressed',
    async (outcome) => {
      const result = await findScenario(`hostile-relay-${outcome}`).run(smallScale);
      // The faults really happened (the relay's draws are seeded, so these counts do not vary between runs much).
      expect(result.facts.temporary).toBeGreaterThan(0);
      expect(result.facts.permanent).toBeGreaterThan(0);
      expect(result.facts.dropped).toBeGreaterThan(0);
      expect(result.facts.stalled).toBeGreaterThan(0);
      expect(result.problems).toEqual([]);
      expect(result.lost).toBe(0);
      expect(result.failed).toBe(result.facts.permanent);
      // A stall that rejects leaves nothing behind; one that accepts may cause the one duplicate SMTP cannot rule out.
      if (outcome === 'reject') expect(result.duplicates).toBe(0);
      expect(result.duplicates).toBe(result.duplicatesAfterLostReply);
    },
    180_000,
  );

  it('a relay down mid-send makes the digest wait, never marks it sent early, and it completes when the relay is back', async () => {
    const result = await findScenario('relay-outage').run(smallScale);
    expect(result.facts.downMs).toBeGreaterThanOrEqual(smallScale.relayDownMs);
    expect(result.problems).toEqual([]);
    expect(result.lost).toBe(0);
    expect(result.failed).toBe(0);
    // Connections cut while the relay had accepted but not yet answered are the only source of duplicates.
    expect(result.duplicates).toBe(result.duplicatesAfterLostReply);
  }, 180_000);
});
