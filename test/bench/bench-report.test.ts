import { describe, expect, it } from 'vitest';
import {
  checkDkimTargets,
  checkTargets,
  computeRatios,
  formatReportMarkdown,
  type BaselineFigures,
  type BenchReport,
  type OursFigures,
} from '../../bench/bench-report.js';

const run = {
  messages: 100_000,
  deliveriesPerSecond: 2_000,
  endToEndPerSecond: 1_800,
  latencyMs: { p50: 25_000, p99: 54_000, max: 55_000 },
  messageBytes: 80_000,
  cpuPerMessageMs: 0.4,
  cpuMs: { senders: 36_000, redis: 4_000, sink: 30_000 },
  senderRssPeakBytes: 110 * 1024 * 1024,
  senderProcesses: 2,
  connections: 20,
  duplicates: 0,
};
const ours: OursFigures = {
  ...run,
  subscribers: 100_000,
  seedMs: 5_000,
  fanOutMs: 400,
  batchSize: 500,
  concurrency: 4,
  redis: {
    usedMemoryBeforeBytes: 50e6,
    usedMemoryPeakBytes: 52e6,
    bytesPerPendingRecipient: 12.5,
    pendingAtMeasure: 99_000,
  },
  workerRssPeakBytesEach: [110 * 1024 * 1024, 100 * 1024 * 1024],
  ledger: { status: 'sent', recipients: 100_000, delivered: 100_000, failed: 0, skipped: 0 },
};
const bare: BaselineFigures = {
  ...run,
  messages: 20_000,
  deliveriesPerSecond: 800,
  endToEndPerSecond: 750,
  cpuPerMessageMs: 1.2,
  senderProcesses: 1,
  description: 'bare',
};
const tutorial: BaselineFigures = {
  ...run,
  messages: 2_000,
  deliveriesPerSecond: 50,
  endToEndPerSecond: 40,
  cpuPerMessageMs: 20,
  description: 'tutorial',
};

describe('benchmark report', () => {
  it('states our throughput as a multiple of each baseline, and of their CPU per message', () => {
    const ratios = computeRatios(ours, { bareNodemailer: bare, tutorialPipeline: tutorial });
    expect(ratios.vsBareNodemailer).toBe(2.5);
    expect(ratios.vsTutorialPipeline).toBe(40);
    expect(ratios.endToEnd.vsBareNodemailer).toBe(2.4);
    expect(ratios.cpuPerMessage.vsBareNodemailer).toBeCloseTo(3);
  });

  it('has no ratio for a baseline that did not run', () => {
    const ratios = computeRatios(ours, { bareNodemailer: null, tutorialPipeline: null });
    expect(ratios.vsBareNodemailer).toBeNull();
    expect(checkTargets(ours, ratios)[0]?.met).toBeNull();
  });

  it('projects a smaller run to a million readers and says so', () => {
    const ratios = computeRatios(ours, { bareNodemailer: bare, tutorialPipeline: tutorial });
    const targets = checkTargets(ours, ratios);
    const million = targets.find((t) => t.name === '1,000,000 readers delivered');
    // 55 s for the first 100,000, then 900,000 at 2,000/s = 450 s: 505 s in all.
    expect(million).toMatchObject({ projected: true, met: true, value: '8.4 min' });
    expect(targets.find((t) => t.name === 'worker RSS peak')?.met).toBe(true);
    expect(targets.find((t) => t.name === 'Redis per pending recipient')?.met).toBe(true);
    const slow = checkTargets({ ...ours, deliveriesPerSecond: 1_000 }, ratios).find(
      (t) => t.name === '1,000,000 readers delivered',
    );
    expect(slow?.met).toBe(false);
  });

  it('prints every run as a column of one Markdown table, with the targets beneath', () => {
    const ratios = computeRatios(ours, { bareNodemailer: bare, tutorialPipeline: tutorial });
    const report: BenchReport = {
      kind: 'letterpress-bench',
      version: 1,
      startedAt: '2026-11-27T12:00:00.000Z',
      finishedAt: '2026-11-27T12:05:00.000Z',
      machine: {
        cpus: 2,
        cpuModel: 'test cpu',
        node: '20.20.2',
        redis: '7.0.15',
        totalMemoryBytes: 1e9,
        loadAverageAtStart: [0, 0, 0],
      },
      options: {},
      ours,
      baselines: { bareNodemailer: bare, tutorialPipeline: tutorial },
      ratios,
      targets: checkTargets(ours, ratios),
      notes: ['a note'],
    };
    const markdown = formatReportMarkdown(report);
    expect(markdown).toContain('| | Letterpress (real path) | bare nodemailer loop | tutorial pipeline |');
    expect(markdown).toContain('| deliveries/s (median, steady part) | 2,000 | 800 | 50 |');
    expect(markdown).toContain('**2.50x** throughput');
    expect(markdown).toContain('| throughput over bare nodemailer | >= 2.0x | 2.50x | yes |');
    expect(markdown).toContain('- a note');
  });

  it('with --dkim, states signed over unsigned throughput and how many sampled signed messages verified', () => {
    const dkim = {
      signed: { ...ours, deliveriesPerSecond: 1_300, cpuPerMessageMs: 0.7 },
      keyBits: 2048,
      dkimVsUnsigned: 0.65,
      sampled: 5,
      verified: 5,
      verifier: 'python3-dkim',
    };
    expect(checkDkimTargets(dkim)).toEqual([
      { name: 'DKIM-signed throughput over unsigned', target: '>= 0.6', value: '0.65', met: true },
      { name: 'sampled signed messages that verify (python3-dkim)', target: '5 of 5', value: '5 of 5', met: true },
    ]);
    expect(checkDkimTargets({ ...dkim, dkimVsUnsigned: 0.5, verified: 4 }).map((t) => t.met)).toEqual([false, false]);
    expect(checkDkimTargets({ ...dkim, verified: null })[1]?.met).toBeNull();
    const ratios = computeRatios(ours, { bareNodemailer: null, tutorialPipeline: null });
    const markdown = formatReportMarkdown({
      kind: 'letterpress-bench',
      version: 1,
      startedAt: '2026-11-27T12:00:00.000Z',
      finishedAt: '2026-11-27T12:05:00.000Z',
      machine: {
        cpus: 2,
        cpuModel: 'test cpu',
        node: '20',
        redis: '7',
        totalMemoryBytes: 1e9,
        loadAverageAtStart: [0],
      },
      options: {},
      ours,
      baselines: { bareNodemailer: null, tutorialPipeline: null },
      ratios,
      dkim,
      targets: [...checkTargets(ours, ratios), ...checkDkimTargets(dkim)],
      notes: [],
    });
    expect(markdown).toContain('signed 1,300 deliveries/s against 2,000 unsigned');
    expect(markdown).toContain('**dkimVsUnsigned 0.65**');
    expect(markdown).toContain('5 of 5 sampled signed messages verified');
  });
});
