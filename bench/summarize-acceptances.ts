/**
 * Pure arithmetic over the sink's acceptance histogram: latency percentiles from a start mark and the median
 * delivery rate over the steady part of a run. Kept apart from the sink so it is unit-tested on plain arrays.
 */

/** A run's acceptance figures, all times in milliseconds after the phase's start mark. */
export interface AcceptanceSummary {
  accepted: number;
  firstMs: number;
  lastMs: number;
  /** Time from the start mark to acceptance. */
  latencyMs: { p50: number; p99: number; max: number };
  /** Median of per-window rates between 10 % and 90 % of acceptances (messages/s). */
  steadyPerSecond: number;
  /** Window used for `steadyPerSecond`, in ms. */
  steadyWindowMs: number;
  /** Acceptances divided by the time from the start mark to the last acceptance (messages/s). */
  endToEndPerSecond: number;
}

/** Smallest bucket index whose cumulative count reaches `target` (1-based count), or -1 when never reached. */
function indexReaching(histogram: ArrayLike<number>, length: number, target: number): number {
  let cumulative = 0;
  for (let i = 0; i < length; i += 1) {
    cumulative += histogram[i] ?? 0;
    if (cumulative >= target) return i;
  }
  return -1;
}

/** The median of a non-empty list of numbers. */
export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/**
 * Summarises a histogram with one bucket per millisecond after the start mark (`histogram[i]` = acceptances in
 * [i, i+1) ms). `length` is how many buckets are in use.
 */
export function summarizeAcceptances(histogram: ArrayLike<number>, length = histogram.length): AcceptanceSummary {
  let accepted = 0;
  for (let i = 0; i < length; i += 1) accepted += histogram[i] ?? 0;
  if (accepted === 0) {
    return {
      accepted: 0,
      firstMs: 0,
      lastMs: 0,
      latencyMs: { p50: 0, p99: 0, max: 0 },
      steadyPerSecond: 0,
      steadyWindowMs: 0,
      endToEndPerSecond: 0,
    };
  }
  const firstMs = indexReaching(histogram, length, 1);
  const lastMs = indexReaching(histogram, length, accepted);
  const p50 = indexReaching(histogram, length, Math.ceil(accepted * 0.5));
  const p99 = indexReaching(histogram, length, Math.ceil(accepted * 0.99));

  // The steady part: between the 10th and 90th percentile of acceptances, leaving out connection warm-up and the tail.
  const steadyStart = indexReaching(histogram, length, Math.max(1, Math.ceil(accepted * 0.1)));
  const steadyEnd = indexReaching(histogram, length, Math.ceil(accepted * 0.9));
  const span = steadyEnd - steadyStart;
  let steadyCount = 0;
  for (let i = steadyStart; i < steadyEnd; i += 1) steadyCount += histogram[i] ?? 0;
  // Windows of one second on long runs, a tenth of the span on short ones, and never so short that a window
  // expects fewer than 20 acceptances (a sparse run would otherwise have a median of empty windows).
  const minimumForCount = steadyCount > 0 ? Math.ceil((20 * span) / steadyCount) : Number.POSITIVE_INFINITY;
  const windowMs = Math.max(span >= 20_000 ? 1_000 : Math.max(1, Math.floor(span / 10)), minimumForCount);
  const rates: number[] = [];
  for (let start = steadyStart; start + windowMs <= steadyEnd; start += windowMs) {
    let count = 0;
    for (let i = start; i < start + windowMs; i += 1) count += histogram[i] ?? 0;
    rates.push((count * 1000) / windowMs);
  }
  let steadyPerSecond: number;
  if (rates.length >= 3) {
    steadyPerSecond = median(rates);
  } else {
    // Too short to have windows: the average over the whole acceptance span.
    steadyPerSecond = (accepted * 1000) / Math.max(1, lastMs + 1 - firstMs);
  }
  return {
    accepted,
    firstMs,
    lastMs,
    latencyMs: { p50, p99, max: lastMs },
    steadyPerSecond,
    steadyWindowMs: rates.length >= 3 ? windowMs : lastMs + 1 - firstMs,
    endToEndPerSecond: (accepted * 1000) / Math.max(1, lastMs + 1),
  };
}

/** How closely acceptances kept to a set rate, over 1-second windows. */
export interface RateWindowSummary {
  targetPerSecond: number;
  /** Acceptances in each whole second from the first acceptance on (the last, partial second left out). */
  windowCounts: number[];
  min: number;
  max: number;
  mean: number;
  /** The most acceptances in any 1-second window, wherever it starts (to the millisecond). */
  slidingMax: number;
  /** The largest |count − target| / target over the whole seconds, and the sliding maximum above the target. */
  maxDeviation: number;
}

/**
 * Counts acceptances per 1-second window in a 1 ms histogram (`histogram[i]` = acceptances in [i, i+1) ms) and
 * compares them with the target rate.
 */
export function summarizeRateWindows(
  histogram: ArrayLike<number>,
  targetPerSecond: number,
  length = histogram.length,
): RateWindowSummary {
  const prefix = new Float64Array(length + 1);
  for (let i = 0; i < length; i += 1) prefix[i + 1] = (prefix[i] ?? 0) + (histogram[i] ?? 0);
  const total = prefix[length] ?? 0;
  const countIn = (from: number, to: number) => (prefix[Math.min(to, length)] ?? 0) - (prefix[Math.max(0, from)] ?? 0);
  const firstMs = total === 0 ? 0 : indexReaching(histogram, length, 1);
  const lastMs = total === 0 ? -1 : indexReaching(histogram, length, total);
  const windowCounts: number[] = [];
  for (let start = firstMs; start + 1_000 <= lastMs + 1; start += 1_000)
    windowCounts.push(countIn(start, start + 1_000));
  let slidingMax = 0;
  for (let start = firstMs; start <= lastMs; start += 1)
    slidingMax = Math.max(slidingMax, countIn(start, start + 1_000));
  const deviations = windowCounts.map((count) => Math.abs(count - targetPerSecond) / targetPerSecond);
  deviations.push(Math.max(0, slidingMax - targetPerSecond) / targetPerSecond);
  return {
    targetPerSecond,
    windowCounts,
    min: windowCounts.length > 0 ? Math.min(...windowCounts) : 0,
    max: windowCounts.length > 0 ? Math.max(...windowCounts) : 0,
    mean: windowCounts.length > 0 ? windowCounts.reduce((sum, count) => sum + count, 0) / windowCounts.length : 0,
    slidingMax,
    maxDeviation: Math.max(...deviations),
  };
}

/** A 1 ms histogram of epoch-ms instants, from the earliest one (for `summarizeRateWindows`). */
export function histogramOfInstants(instantsMs: readonly number[]): { histogram: Uint32Array; startMs: number } {
  if (instantsMs.length === 0) return { histogram: new Uint32Array(0), startMs: 0 };
  const startMs = Math.min(...instantsMs);
  const histogram = new Uint32Array(Math.floor(Math.max(...instantsMs) - startMs) + 1);
  for (const instant of instantsMs) {
    const index = Math.floor(instant - startMs);
    histogram[index] = (histogram[index] ?? 0) + 1;
  }
  return { histogram, startMs };
}
