/**
 * Process accounting from /proc: CPU time (utime + stime, the process's own counters, all threads) and resident
 * memory, read for any pid the benchmark started. Linux only, like the benchmark's targets.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** One reading of a process's counters. */
export interface ProcessSample {
  /** User + system CPU time consumed so far, in milliseconds. */
  cpuMs: number;
  /** Resident set size now, in bytes. */
  rssBytes: number;
}

let clockTicksPerSecond: number | undefined;
let pageSizeBytes: number | undefined;

function systemConstant(name: string, fallback: number): number {
  try {
    const value = Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}

/** Parses the text of /proc/<pid>/stat into CPU ms and RSS bytes (the command name may hold spaces and parens). */
export function parseProcStat(text: string, ticksPerSecond: number, pageSize: number): ProcessSample {
  const afterName = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields after "pid (comm) ": state is index 0, so utime (field 14) is index 11, stime 12, rss (field 24) 21.
  const utime = Number(afterName[11]);
  const stime = Number(afterName[12]);
  const rssPages = Number(afterName[21]);
  if (![utime, stime, rssPages].every(Number.isFinite)) throw new Error('unexpected /proc/<pid>/stat format');
  return { cpuMs: ((utime + stime) * 1000) / ticksPerSecond, rssBytes: rssPages * pageSize };
}

/** Reads a live process's counters, or undefined when it has exited. */
export function readProcessSample(pid: number): ProcessSample | undefined {
  clockTicksPerSecond ??= systemConstant('CLK_TCK', 100);
  pageSizeBytes ??= systemConstant('PAGESIZE', 4096);
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'), clockTicksPerSecond, pageSizeBytes);
  } catch {
    return undefined;
  }
}

/** What a monitor learned about one watched process. */
export interface WatchedProcessReport {
  label: string;
  pid: number;
  /** CPU ms consumed between `start()` (or when the process was added) and `stop()` (or its last sample). */
  cpuMs: number;
  /** Highest RSS seen in any sample, in bytes. */
  peakRssBytes: number;
}

interface Watched {
  label: string;
  pid: number;
  startCpuMs: number;
  lastCpuMs: number;
  peakRssBytes: number;
}

/**
 * Samples a set of processes every `intervalMs` for their RSS peak and CPU delta. CPU is exact (kernel counters at
 * both ends); the RSS peak is the highest sampled value.
 */
export class ProcessMonitor {
  private readonly watched = new Map<number, Watched>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs = 200) {}

  /** Starts watching a process from now on. */
  add(label: string, pid: number): void {
    const sample = readProcessSample(pid);
    this.watched.set(pid, {
      label,
      pid,
      startCpuMs: sample?.cpuMs ?? 0,
      lastCpuMs: sample?.cpuMs ?? 0,
      peakRssBytes: sample?.rssBytes ?? 0,
    });
  }

  /** Resets every process's CPU baseline and RSS peak to the current reading and starts sampling. */
  start(): void {
    for (const entry of this.watched.values()) {
      const sample = readProcessSample(entry.pid);
      entry.startCpuMs = sample?.cpuMs ?? entry.lastCpuMs;
      entry.lastCpuMs = entry.startCpuMs;
      entry.peakRssBytes = sample?.rssBytes ?? 0;
    }
    this.timer ??= setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  /** Takes one sample of every watched process. */
  sample(): void {
    for (const entry of this.watched.values()) {
      const sample = readProcessSample(entry.pid);
      if (!sample) continue;
      entry.lastCpuMs = sample.cpuMs;
      if (sample.rssBytes > entry.peakRssBytes) entry.peakRssBytes = sample.rssBytes;
    }
  }

  /** Takes a final sample, stops the timer and reports every watched process. */
  stop(): WatchedProcessReport[] {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    return [...this.watched.values()].map((entry) => ({
      label: entry.label,
      pid: entry.pid,
      cpuMs: entry.lastCpuMs - entry.startCpuMs,
      peakRssBytes: entry.peakRssBytes,
    }));
  }
}
