/** When a newsletter's schedule fires: its cron line in its own time zone, across daylight-saving changes. */
import { describe, expect, it } from 'vitest';
import { nextRuns } from '../../src/newsletters/next-runs.js';
import { parseSendTime } from '../../src/newsletters/send-time.js';

const utc = { timeZone: 'UTC' };
const iso = (dates: Date[]) => dates.map((date) => date.toISOString());

describe('a newsletter schedule across daylight-saving changes', () => {
  it('keeps 06:00 in London when the clocks go forward: 06:00 GMT, then 06:00 BST', () => {
    const runs = nextRuns({ cron: '0 6 * * *', timeZone: 'Europe/London' }, utc, new Date('2026-03-27T12:00:00Z'), 3);
    expect(iso(runs)).toEqual(['2026-03-28T06:00:00.000Z', '2026-03-29T05:00:00.000Z', '2026-03-30T05:00:00.000Z']);
  });

  it('keeps 06:00 in London when the clocks go back', () => {
    const runs = nextRuns({ cron: '0 6 * * *', timeZone: 'Europe/London' }, utc, new Date('2026-10-24T00:00:00Z'), 2);
    expect(iso(runs)).toEqual(['2026-10-24T05:00:00.000Z', '2026-10-25T06:00:00.000Z']);
  });

  it('runs a time the change skips just after the gap, and a time that happens twice only once', () => {
    const skipped = nextRuns({ cron: '30 1 * * *', timeZone: 'Europe/London' }, utc, new Date('2026-03-28T12:00:00Z'));
    expect(iso(skipped)).toEqual(['2026-03-29T01:30:00.000Z']); // 02:30 BST: 01:30 did not exist that night
    const doubled = nextRuns(
      { cron: '30 1 * * *', timeZone: 'Europe/London' },
      utc,
      new Date('2026-10-24T12:00:00Z'),
      2,
    );
    expect(doubled.filter((at) => at.toISOString().startsWith('2026-10-25'))).toHaveLength(1);
    expect(doubled[1]?.toISOString()).toBe('2026-10-26T01:30:00.000Z');
  });

  it('reads a schedule without a zone of its own in the site’s zone, and a weekday line only on weekdays', () => {
    const site = { timeZone: 'America/New_York' };
    const runs = nextRuns({ cron: '0 7 * * 1-5' }, site, new Date('2026-03-06T00:00:00Z'), 2);
    // Friday 6 March at 07:00 EST, then Monday 9 March at 07:00 EDT (New York changed on the 8th).
    expect(iso(runs)).toEqual(['2026-03-06T12:00:00.000Z', '2026-03-09T11:00:00.000Z']);
  });
});

describe('a send time an editor gives', () => {
  it('without an offset is read in the newsletter’s zone; with one, as it says', () => {
    expect(parseSendTime('2026-07-01T06:00', 'Europe/London').toISOString()).toBe('2026-07-01T05:00:00.000Z');
    expect(parseSendTime('2026-12-01 06:00', 'Europe/London').toISOString()).toBe('2026-12-01T06:00:00.000Z');
    expect(parseSendTime('2026-07-01T06:00:00+02:00', 'Europe/London').toISOString()).toBe('2026-07-01T04:00:00.000Z');
    expect(parseSendTime('2026-03-29T01:30', 'Europe/London').toISOString()).toBe('2026-03-29T01:30:00.000Z');
    for (const bad of ['tomorrow', '2026-13-01T06:00', '06:00', '2026-07-01T06:00\r\nX: y', 'x'.repeat(500)]) {
      expect(() => parseSendTime(bad, 'UTC')).toThrowError(/^at: .* is not a time; use ISO 8601/);
    }
  });
});
