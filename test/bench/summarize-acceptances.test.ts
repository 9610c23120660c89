import { describe, expect, it } from 'vitest';
import {
  histogramOfInstants,
  median,
  summarizeAcceptances,
  summarizeRateWindows,
} from '../../bench/summarize-acceptances.js';

/** A 1 ms histogram with `perMs` acceptances in every millisecond of [from, to). */
function flat(length: number, from: number, to: number, perMs: number): Uint32Array {
  const histogram = new Uint32Array(length);
  for (let i = from; i < to; i += 1) histogram[i] = perMs;
  return histogram;
}

describe('acceptance summary', () => {
  it('reports a steady 2,000 messages/s run as 2,000 deliveries per second', () => {
    // 2 per ms for 30 s, after a 500 ms fan-out delay.
    const summary = summarizeAcceptances(flat(31_000, 500, 30_500, 2));
    expect(summary.accepted).toBe(60_000);
    expect(summary.steadyPerSecond).toBe(2_000);
    expect(summary.steadyWindowMs).toBe(1_000);
    expect(summary.firstMs).toBe(500);
    expect(summary.lastMs).toBe(30_499);
    expect(summary.latencyMs.p50).toBe(15_499);
    expect(summary.latencyMs.p99).toBe(30_199);
    expect(summary.endToEndPerSecond).toBeCloseTo(60_000 / 30.5, 5);
  });

  it('leaves a slow start and a slow tail out of the steady rate', () => {
    const histogram = flat(40_000, 0, 40_000, 0);
    for (let i = 0; i < 5_000; i += 1) if (i % 10 === 0) histogram[i] = 1; // warm-up: 100/s
    for (let i = 5_000; i < 35_000; i += 1) histogram[i] = 1; // steady: 1,000/s
    for (let i = 35_000; i < 40_000; i += 1) if (i % 10 === 0) histogram[i] = 1; // tail
    const summary = summarizeAcceptances(histogram);
    expect(summary.steadyPerSecond).toBe(1_000);
    expect(summary.endToEndPerSecond).toBeLessThan(1_000);
  });

  it('falls back to the average rate for a run too short to have windows', () => {
    const histogram = new Uint32Array(10);
    histogram[3] = 5;
    histogram[4] = 5;
    const summary = summarizeAcceptances(histogram);
    expect(summary.accepted).toBe(10);
    expect(summary.steadyPerSecond).toBe(5_000);
    expect(summary.latencyMs).toEqual({ p50: 3, p99: 4, max: 4 });
  });

  it('gives a sparse run its average rate, not the median of empty windows', () => {
    // Six messages over 900 ms, as a tiny baseline run sends them.
    const histogram = new Uint32Array(1_000);
    for (const at of [50, 230, 410, 590, 770, 950]) histogram[at] = 1;
    const summary = summarizeAcceptances(histogram);
    expect(summary.steadyPerSecond).toBeGreaterThan(5);
    expect(summary.steadyPerSecond).toBeLessThan(8);
  });

  it('reports zeros, not NaN, when nothing was accepted', () => {
    const summary = summarizeAcceptances(new Uint32Array(100));
    expect(summary.accepted).toBe(0);
    expect(summary.steadyPerSecond).toBe(0);
    expect(summary.endToEndPerSecond).toBe(0);
  });

  it('takes the middle value as the median', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});

describe('rate windows', () => {
  it('a run spaced exactly at the target has every second at the target and no deviation', () => {
    // 200/s: one acceptance every 5 ms for 10 s, starting at 300 ms.
    const histogram = new Uint32Array(11_000);
    for (let i = 300; i < 10_300; i += 5) histogram[i] = 1;
    const windows = summarizeRateWindows(histogram, 200);
    // The tenth second ends 5 ms after the last acceptance: it counts as partial and is left out.
    expect(windows.windowCounts).toEqual(Array.from({ length: 9 }, () => 200));
    expect(windows).toMatchObject({ min: 200, max: 200, mean: 200, slidingMax: 200, maxDeviation: 0 });
  });

  it('a burst shows in the sliding maximum although whole seconds hide it', () => {
    const instants: number[] = [];
    for (let i = 0; i < 2_000; i += 10) instants.push(1_000_000 + i); // 100/s for 2 s
    for (let k = 0; k < 30; k++) instants.push(1_000_000 + 990); // 30 at once near the end of the first second
    for (let k = 0; k < 30; k++) instants.push(1_000_000 + 1_010); // and 30 at the start of the next
    const { histogram } = histogramOfInstants(instants);
    const windows = summarizeRateWindows(histogram, 100);
    expect(windows.slidingMax).toBeGreaterThanOrEqual(160);
    expect(windows.maxDeviation).toBeGreaterThanOrEqual(0.6);
  });
});
