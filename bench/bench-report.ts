/**
 * The benchmark's result document: its shape (what `--json` prints and bench/results/*.json holds), the ratios over
 * the baselines, the target checks and the Markdown table. Pure functions over plain data.
 */
import type { CliStartFigures } from './measure-cli-start.js';
import type { RateWindowSummary } from './summarize-acceptances.js';

/** One measured way of sending the same digest to many readers. */
export interface RunFigures {
  /** Messages the sink accepted in this run. */
  messages: number;
  /** Median deliveries per second over the steady part (10 %–90 % of acceptances). */
  deliveriesPerSecond: number;
  /** Messages divided by the time from the start mark to the last acceptance. */
  endToEndPerSecond: number;
  /** Time from the start mark (fan-out or enqueue start) to acceptance by the sink, in ms. */
  latencyMs: { p50: number; p99: number; max: number };
  /** Average size of an accepted message, bytes. */
  messageBytes: number;
  /** CPU time of the sending processes plus Redis, per accepted message, in ms. */
  cpuPerMessageMs: number;
  /** CPU time in ms, by process kind. */
  cpuMs: { senders: number; redis: number; sink: number };
  /** Highest RSS of any one sending process, bytes. */
  senderRssPeakBytes: number;
  /** Processes that sent. */
  senderProcesses: number;
  /** SMTP connections in total. */
  connections: number;
  /** Recipients accepted more than once (must be 0). */
  duplicates: number;
}

/** The real path's run, with what only it has. */
export interface OursFigures extends RunFigures {
  subscribers: number;
  /** Time to seed the subscribers (not part of any other figure), ms. */
  seedMs: number;
  /** From the send request to the fan-out job's completion (`fannedOutAt`), ms. */
  fanOutMs: number;
  /** The privacy audit every send runs first, once per digest, whatever the readers (not in any other figure), ms. */
  auditMs?: number;
  /** Recipients per delivery job and jobs per worker process. */
  batchSize: number | undefined;
  concurrency: number | undefined;
  redis: {
    /** used_memory before the send (seeded subscribers, articles, digest), bytes. */
    usedMemoryBeforeBytes: number;
    /** Highest used_memory sampled during the send, bytes. */
    usedMemoryPeakBytes: number;
    /** (used_memory − before) / recipients still pending, when the fan-out had just completed. */
    bytesPerPendingRecipient: number;
    /** How many recipients were pending at that moment. */
    pendingAtMeasure: number;
  };
  /** Each worker process's RSS peak, bytes. */
  workerRssPeakBytesEach: number[];
  /** The ledger's own counts at the end. */
  ledger: { status: string; recipients: number; delivered: number; failed: number; skipped: number };
}

/** The real path again with DKIM signing (`--dkim`), and how it compares with the unsigned run of the session. */
export interface DkimFigures {
  /** The signed run. */
  signed: OursFigures;
  /** The signing key: `rsa-sha256` with this many bits (Ed25519 off). */
  keyBits: number;
  /** Signed steady throughput over the unsigned run's (goal >= 0.6). */
  dkimVsUnsigned: number;
  /** Signed messages captured at the sink and checked with python3-dkim (`dkim-verify-offline.py`). */
  sampled: number;
  /** How many of them verified; null when the verifier is not on this machine. */
  verified: number | null;
  /** What checked them. */
  verifier: string;
}

/** A baseline's run and how it was configured. */
export interface BaselineFigures extends RunFigures {
  /** One-line description printed under the table. */
  description: string;
}

/** One target of the issue, checked against the figures. */
export interface TargetCheck {
  name: string;
  target: string;
  value: string;
  /** true / false when measured; null when it could not be judged (e.g. no baseline ran). */
  met: boolean | null;
  /** Set when the value is extrapolated from a smaller run. */
  projected?: boolean;
}

/** The whole result document. */
export interface BenchReport {
  kind: 'letterpress-bench';
  version: 1;
  startedAt: string;
  finishedAt: string;
  machine: {
    cpus: number;
    cpuModel: string;
    node: string;
    redis: string;
    totalMemoryBytes: number;
    loadAverageAtStart: number[];
  };
  options: Record<string, unknown>;
  ours: OursFigures;
  /** Which code the workers and the CLI ran (`dist`: the compiled build), and how fast a command starts. */
  startup?: CliStartFigures;
  baselines: { bareNodemailer: BaselineFigures | null; tutorialPipeline: BaselineFigures | null };
  /** Our steady throughput over each baseline's (throughput over throughput); null when that baseline was skipped. */
  ratios: {
    vsBareNodemailer: number | null;
    vsTutorialPipeline: number | null;
    /** The same, end to end (fan-out and ramp-up included on our side). */
    endToEnd: { vsBareNodemailer: number | null; vsTutorialPipeline: number | null };
    /** Baseline CPU per message over ours (how many times less CPU we spend per message). */
    cpuPerMessage: { vsBareNodemailer: number | null; vsTutorialPipeline: number | null };
  };
  /** The DKIM-signed run, when `--dkim` asked for it. */
  dkim?: DkimFigures;
  targets: TargetCheck[];
  notes: string[];
}

const MILLION = 1_000_000;

/** Divides, or null when either side is missing or the divisor is not positive. */
export function ratio(numerator: number | undefined, denominator: number | undefined): number | null {
  if (numerator === undefined || denominator === undefined || !(denominator > 0)) return null;
  return numerator / denominator;
}

/** Computes the ratios section from our figures and the baselines'. */
export function computeRatios(ours: RunFigures, baselines: BenchReport['baselines']): BenchReport['ratios'] {
  const bare = baselines.bareNodemailer ?? undefined;
  const tutorial = baselines.tutorialPipeline ?? undefined;
  return {
    vsBareNodemailer: ratio(ours.deliveriesPerSecond, bare?.deliveriesPerSecond),
    vsTutorialPipeline: ratio(ours.deliveriesPerSecond, tutorial?.deliveriesPerSecond),
    endToEnd: {
      vsBareNodemailer: ratio(ours.endToEndPerSecond, bare?.endToEndPerSecond),
      vsTutorialPipeline: ratio(ours.endToEndPerSecond, tutorial?.endToEndPerSecond),
    },
    cpuPerMessage: {
      vsBareNodemailer: ratio(bare?.cpuPerMessageMs, ours.cpuPerMessageMs),
      vsTutorialPipeline: ratio(tutorial?.cpuPerMessageMs, ours.cpuPerMessageMs),
    },
  };
}

/** The DKIM targets: signed throughput at least 0.6 of unsigned, and every sampled signed message verifies. */
export function checkDkimTargets(dkim: DkimFigures): TargetCheck[] {
  return [
    {
      name: 'DKIM-signed throughput over unsigned',
      target: '>= 0.6',
      value: dkim.dkimVsUnsigned.toFixed(2),
      met: dkim.dkimVsUnsigned >= 0.6,
    },
    {
      name: 'sampled signed messages that verify (python3-dkim)',
      target: `${dkim.sampled} of ${dkim.sampled}`,
      value: dkim.verified === null ? 'verifier not found' : `${dkim.verified} of ${dkim.sampled}`,
      met: dkim.verified === null ? null : dkim.sampled > 0 && dkim.verified === dkim.sampled,
    },
  ];
}

/** Checks the issue's targets. Million-reader figures are extrapolated linearly when the run was smaller. */
export function checkTargets(
  ours: OursFigures,
  ratios: BenchReport['ratios'],
  startup?: CliStartFigures,
): TargetCheck[] {
  const isMillion = ours.subscribers >= MILLION;
  const scale = MILLION / Math.max(1, ours.subscribers);
  // Smaller run: its own end-to-end time plus the remaining readers at the steady rate.
  const millionMs = isMillion
    ? ours.latencyMs.max
    : ours.latencyMs.max + ((MILLION - ours.subscribers) * 1000) / Math.max(1e-9, ours.deliveriesPerSecond);
  const fanOutMillionMs = isMillion ? ours.fanOutMs : ours.fanOutMs * scale;
  const rssMb = ours.senderRssPeakBytes / (1024 * 1024);
  return [
    {
      name: 'throughput over bare nodemailer',
      target: '>= 2.0x',
      value: ratios.vsBareNodemailer === null ? 'not measured' : `${ratios.vsBareNodemailer.toFixed(2)}x`,
      met: ratios.vsBareNodemailer === null ? null : ratios.vsBareNodemailer >= 2,
    },
    {
      name: '1,000,000 readers delivered',
      target: '<= 10 min',
      value: `${(millionMs / 60_000).toFixed(1)} min`,
      met: millionMs <= 10 * 60_000,
      ...(isMillion ? {} : { projected: true }),
    },
    {
      name: 'fan-out of 1,000,000',
      target: '<= 10 s',
      value: `${(fanOutMillionMs / 1000).toFixed(1)} s`,
      met: fanOutMillionMs <= 10_000,
      ...(isMillion ? {} : { projected: true }),
    },
    {
      name: 'Redis per pending recipient',
      target: '<= 60 B',
      value: `${ours.redis.bytesPerPendingRecipient.toFixed(1)} B`,
      met: ours.redis.bytesPerPendingRecipient <= 60,
    },
    { name: 'worker RSS peak', target: '<= 120 MB', value: `${rssMb.toFixed(0)} MB`, met: rssMb <= 120 },
    {
      name: 'CPU per message (workers + Redis)',
      target: '<= 0.5 ms',
      value: `${ours.cpuPerMessageMs.toFixed(3)} ms`,
      met: ours.cpuPerMessageMs <= 0.5,
    },
    ...(startup
      ? [
          {
            name: `CLI start, \`letterpress --version\` (${startup.code})`,
            target: '<= 300 ms',
            value: `${Math.round(startup.versionMs)} ms (${(startup.versionMs / startup.nodeBaselineMs).toFixed(1)}x node alone)`,
            met: startup.versionMs <= 300,
          },
          {
            name: `CLI command, \`letterpress health --worker\` (${startup.code})`,
            target: '<= 300 ms',
            value: `${Math.round(startup.healthWorkerMs)} ms (${(startup.healthWorkerMs / startup.nodeBaselineMs).toFixed(1)}x node alone)`,
            met: startup.healthWorkerMs <= 300,
          },
        ]
      : []),
  ];
}

const formatInteger = (n: number) => Math.round(n).toLocaleString('en-US');
const formatMs = (ms: number) =>
  ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms).toLocaleString('en-US')} ms`;
const formatMb = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(0)} MB`;
const formatKb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const formatRatio = (value: number | null) => (value === null ? 'n/a' : `${value.toFixed(2)}x`);

/** Renders the report as Markdown: the comparison table, the ratios, the targets and the notes. */
export function formatReportMarkdown(report: BenchReport): string {
  const { ours } = report;
  const bare = report.baselines.bareNodemailer;
  const tutorial = report.baselines.tutorialPipeline;
  const columns: { title: string; run: RunFigures | null }[] = [
    { title: 'Letterpress (real path)', run: ours },
    { title: 'bare nodemailer loop', run: bare },
    { title: 'tutorial pipeline', run: tutorial },
  ].filter((c) => c.run !== null);
  const header = `| | ${columns.map((c) => c.title).join(' | ')} |`;
  const divider = `|---|${columns.map(() => '---:').join('|')}|`;
  const row = (label: string, value: (run: RunFigures, isOurs: boolean) => string) =>
    `| ${label} | ${columns.map((c, i) => (c.run ? value(c.run, i === 0) : '')).join(' | ')} |`;
  const lines = [
    `## Letterpress benchmark, ${report.startedAt.slice(0, 10)}`,
    '',
    `${report.machine.cpus} × ${report.machine.cpuModel}, Node ${report.machine.node}, Redis ${report.machine.redis}; ` +
      `${formatInteger(ours.subscribers)} subscribers, ${ours.senderProcesses} worker processes, ${ours.connections} SMTP connections in total` +
      `${ours.batchSize ? `, ${ours.batchSize} recipients per job` : ''}${ours.concurrency ? `, ${ours.concurrency} jobs per worker` : ''}; ` +
      `load average ${report.machine.loadAverageAtStart.map((n) => n.toFixed(2)).join(' ')} at the start.`,
    '',
    header,
    divider,
    row('messages', (r) => formatInteger(r.messages)),
    row('message size', (r) => formatKb(r.messageBytes)),
    row('deliveries/s (median, steady part)', (r) => formatInteger(r.deliveriesPerSecond)),
    row('deliveries/s (end to end)', (r) => formatInteger(r.endToEndPerSecond)),
    row('fan-out time', (_r, isOurs) => (isOurs ? formatMs(ours.fanOutMs) : '–')),
    row('p50 start → accepted', (r) => formatMs(r.latencyMs.p50)),
    row('p99 start → accepted', (r) => formatMs(r.latencyMs.p99)),
    row('CPU per message (senders + Redis)', (r) => `${r.cpuPerMessageMs.toFixed(3)} ms`),
    row(
      'sink CPU per message (not counted above)',
      (r) => `${(r.messages === 0 ? 0 : r.cpuMs.sink / r.messages).toFixed(3)} ms`,
    ),
    row('sender processes', (r) => String(r.senderProcesses)),
    row('sender RSS peak (largest process)', (r) => formatMb(r.senderRssPeakBytes)),
    row('Redis used_memory peak', (_r, isOurs) => (isOurs ? formatMb(ours.redis.usedMemoryPeakBytes) : '–')),
    row('Redis bytes per pending recipient', (_r, isOurs) =>
      isOurs ? `${ours.redis.bytesPerPendingRecipient.toFixed(1)} B` : '–',
    ),
    row('duplicates at the sink', (r) => String(r.duplicates)),
    '',
    `Ours over bare nodemailer: **${formatRatio(report.ratios.vsBareNodemailer)}** throughput ` +
      `(${formatRatio(report.ratios.endToEnd.vsBareNodemailer)} end to end), ` +
      `${formatRatio(report.ratios.cpuPerMessage.vsBareNodemailer)} less CPU per message. ` +
      `Over the tutorial pipeline: **${formatRatio(report.ratios.vsTutorialPipeline)}** throughput ` +
      `(${formatRatio(report.ratios.endToEnd.vsTutorialPipeline)} end to end), ` +
      `${formatRatio(report.ratios.cpuPerMessage.vsTutorialPipeline)} less CPU per message.`,
    '',
    ...(report.dkim
      ? [
          `DKIM (\`--dkim\`, rsa-sha256 ${report.dkim.keyBits} bits, relaxed/relaxed, same session, same readers): ` +
            `signed ${formatInteger(report.dkim.signed.deliveriesPerSecond)} deliveries/s against ${formatInteger(ours.deliveriesPerSecond)} unsigned ` +
            `(median, steady part; end to end ${formatInteger(report.dkim.signed.endToEndPerSecond)} against ${formatInteger(ours.endToEndPerSecond)}), ` +
            `**dkimVsUnsigned ${report.dkim.dkimVsUnsigned.toFixed(2)}**; CPU per message ${report.dkim.signed.cpuPerMessageMs.toFixed(3)} ms signed, ` +
            `${ours.cpuPerMessageMs.toFixed(3)} ms unsigned; ${report.dkim.verified ?? 'none'} of ${report.dkim.sampled} sampled signed messages verified (${report.dkim.verifier}).`,
          '',
        ]
      : []),
    '| target | goal | measured | met |',
    '|---|---|---|---|',
    ...report.targets.map(
      (t) =>
        `| ${t.name} | ${t.target} | ${t.value}${t.projected ? ' (projected)' : ''} | ${t.met === null ? 'n/a' : t.met ? 'yes' : '**no**'} |`,
    ),
    '',
    ...(report.startup
      ? [
          `Code run by the workers and the CLI: ${report.startup.code === 'dist' ? 'the compiled build (dist/)' : 'the TypeScript sources through tsx'}. ` +
            `Command start, median of ${report.startup.runs} runs, wall time from spawn to exit: node alone ${Math.round(report.startup.nodeBaselineMs)} ms, ` +
            `\`letterpress --version\` ${Math.round(report.startup.versionMs)} ms, \`letterpress health --worker\` ${Math.round(report.startup.healthWorkerMs)} ms.`,
          '',
        ]
      : []),
    `Ledger: ${ours.ledger.status}; recipients ${formatInteger(ours.ledger.recipients)}, delivered ${formatInteger(ours.ledger.delivered)}, ` +
      `failed ${ours.ledger.failed}, skipped ${ours.ledger.skipped}. Seeding took ${formatMs(ours.seedMs)} (not in any figure)${ours.auditMs === undefined ? '' : `; the privacy audit before the send took ${formatMs(ours.auditMs)}, once per digest (not in any figure)`}.`,
    '',
    ...report.notes.map((note) => `- ${note}`),
    '',
  ];
  return lines.join('\n');
}

/** What `npm run bench -- --rate-limit N` found: how closely the relay's seconds kept to the shared send rate. */
export interface RateLimitReport {
  kind: 'letterpress-rate-bench';
  startedAt: string;
  machine: { cpus: number; loadAverageAtStart: number[]; loadAverageAtEnd: number[] };
  options: { perSecond: number; seconds: number; workers: number; connections: number; batchSize: number };
  readers: number;
  /** Messages the sink accepted, and of those second copies of a reader's message. */
  accepted: number;
  duplicates: number;
  ledger: { status: string; recipients: number; delivered: number; failed: number; skipped: number };
  windows: RateWindowSummary;
  /** Every whole second, and the busiest window anywhere, within ±5 % of the rate. */
  isWithinGoal: boolean;
}

/** The rate-limit run as Markdown. */
export function formatRateLimitReport(report: RateLimitReport): string {
  const { windows, options } = report;
  const percent = (value: number) => `${(value * 100).toFixed(1)} %`;
  return [
    `# Send-rate limit: ${options.perSecond} messages/s shared by ${options.workers} worker processes`,
    '',
    `Run ${report.startedAt} on ${report.machine.cpus} cores (load ${report.machine.loadAverageAtStart.map((n) => n.toFixed(1)).join(' ')} at start, ` +
      `${report.machine.loadAverageAtEnd.map((n) => n.toFixed(1)).join(' ')} at the end); ${report.readers} readers, ` +
      `${options.connections} SMTP connections in total, DELIVERY_BATCH_SIZE ${options.batchSize}.`,
    '',
    '| target/s | whole seconds | min | max | mean | busiest 1-s window | max deviation | goal ±5 % |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    `| ${windows.targetPerSecond} | ${windows.windowCounts.length} | ${windows.min} | ${windows.max} | ${windows.mean.toFixed(1)} | ` +
      `${windows.slidingMax} | ${percent(windows.maxDeviation)} | ${report.isWithinGoal ? 'met' : 'missed'} |`,
    '',
    `Per second, from the first acceptance: ${windows.windowCounts.join(' ')}`,
    '',
    `The sink accepted ${report.accepted} messages (${report.duplicates} second copies); the ledger says ` +
      `${report.ledger.status}, ${report.ledger.delivered} delivered, ${report.ledger.failed} failed, ${report.ledger.skipped} skipped.`,
    '',
  ].join('\n');
}
