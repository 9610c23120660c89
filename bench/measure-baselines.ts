/**
 * Runs the two baselines against the same sink with the same digest and reports them in the same figures as the
 * real path: throughput and latency from the sink, CPU and RSS from /proc.
 */
import { Redis } from 'ioredis';
import type { BaselineFigures } from './bench-report.js';
import { enqueueTutorialJobs } from './baseline-tutorial-pipeline.js';
import { spawnBenchChild, type BenchChild } from './child-process-protocol.js';
import { ProcessMonitor } from './process-stats.js';
import type { PrivateRedis } from '../src/private-redis.js';
import { waitForAcceptances, type SinkProcess } from './sink-process.js';
import type { SinkSummary } from './sink.js';

/** What both baselines need from the benchmark. */
export interface BaselineContext {
  sink: SinkProcess;
  redis: PrivateRedis;
  fixturePath: string;
  /** SMTP connections in total. */
  connections: number;
  /** Worker processes the real path uses (the tutorial pipeline gets as many). */
  workers: number;
  /** Jobs per worker process at once (the tutorial pipeline gets as many). */
  concurrency: number;
  progress: (line: string) => void;
}

/** Turns a sink summary and the processes' accounting into run figures. */
export function figuresFrom(
  summary: SinkSummary,
  accounting: { sendersCpuMs: number; redisCpuMs: number; sinkCpuMs: number; senderRssPeakBytes: number },
  setup: { senderProcesses: number; connections: number },
): Omit<BaselineFigures, 'description'> {
  return {
    messages: summary.accepted,
    deliveriesPerSecond: summary.steadyPerSecond,
    endToEndPerSecond: summary.endToEndPerSecond,
    latencyMs: summary.latencyMs,
    messageBytes: summary.averageMessageBytes,
    cpuPerMessageMs: summary.accepted === 0 ? 0 : (accounting.sendersCpuMs + accounting.redisCpuMs) / summary.accepted,
    cpuMs: { senders: accounting.sendersCpuMs, redis: accounting.redisCpuMs, sink: accounting.sinkCpuMs },
    senderRssPeakBytes: accounting.senderRssPeakBytes,
    senderProcesses: setup.senderProcesses,
    connections: setup.connections,
    duplicates: summary.duplicates,
  };
}

/** Measures baseline 1: one process, pooled nodemailer, `sendMail` per reader. */
export async function measureBareNodemailer(context: BaselineContext, messages: number): Promise<BaselineFigures> {
  const { sink, connections } = context;
  const child = spawnBenchChild('bench/baseline-bare-nodemailer.ts', [
    context.fixturePath,
    sink.smtpUrl,
    String(connections),
    String(messages),
  ]);
  try {
    await child.ready;
    const monitor = new ProcessMonitor();
    monitor.add('sender', child.pid);
    monitor.add('sink', sink.pid);
    const t0 = Date.now();
    await sink.startPhase(t0);
    monitor.start();
    child.go();
    await Promise.race([
      child.done,
      waitForAcceptances(sink, messages, { onProgress: progressEvery(context, 'bare nodemailer', messages) }),
    ]);
    await child.done;
    await waitForAcceptances(sink, messages);
    const reports = monitor.stop();
    const summary = await sink.summary();
    const sender = reports.find((r) => r.label === 'sender');
    return {
      description: `bare nodemailer: 1 process, pool of ${connections} connections, sendMail builds each message, ${connections * 2} sends in flight`,
      ...figuresFrom(
        summary,
        {
          sendersCpuMs: sender?.cpuMs ?? 0,
          redisCpuMs: 0,
          sinkCpuMs: reports.find((r) => r.label === 'sink')?.cpuMs ?? 0,
          senderRssPeakBytes: sender?.peakRssBytes ?? 0,
        },
        { senderProcesses: 1, connections },
      ),
    };
  } finally {
    await child.release();
  }
}

/** Measures baseline 2: one BullMQ job per reader, each rendering MJML and sending, in as many processes as ours. */
export async function measureTutorialPipeline(context: BaselineContext, messages: number): Promise<BaselineFigures> {
  const { sink, redis, workers, concurrency } = context;
  const perWorker = Math.max(1, Math.floor(context.connections / workers));
  const children: BenchChild[] = [];
  try {
    for (let i = 0; i < workers; i += 1) {
      children.push(
        spawnBenchChild('bench/baseline-tutorial-pipeline.ts', [
          context.fixturePath,
          redis.url,
          sink.smtpUrl,
          String(perWorker),
          String(concurrency),
        ]),
      );
    }
    await Promise.all(children.map((c) => c.ready));
    const monitor = new ProcessMonitor();
    children.forEach((c, i) => monitor.add(`worker-${i}`, c.pid));
    monitor.add('redis', redis.pid() ?? 0);
    monitor.add('sink', sink.pid);
    const t0 = Date.now();
    await sink.startPhase(t0);
    monitor.start();
    await enqueueTutorialJobs(redis.url, messages);
    await waitForAcceptances(sink, messages, { onProgress: progressEvery(context, 'tutorial pipeline', messages) });
    const reports = monitor.stop();
    const summary = await sink.summary();
    const senders = reports.filter((r) => r.label.startsWith('worker-'));
    return {
      description:
        `tutorial pipeline: one BullMQ job per reader rendering MJML and calling sendMail; ${workers} worker processes, ` +
        `concurrency ${concurrency}, ${perWorker} connections each`,
      ...figuresFrom(
        summary,
        {
          sendersCpuMs: senders.reduce((sum, r) => sum + r.cpuMs, 0),
          redisCpuMs: reports.find((r) => r.label === 'redis')?.cpuMs ?? 0,
          sinkCpuMs: reports.find((r) => r.label === 'sink')?.cpuMs ?? 0,
          senderRssPeakBytes: Math.max(0, ...senders.map((r) => r.peakRssBytes)),
        },
        { senderProcesses: workers, connections: perWorker * workers },
      ),
    };
  } finally {
    await Promise.all(children.map((c) => c.release()));
    await clearTutorialKeys(redis.url);
  }
}

/** Deletes the tutorial queue's keys so the real path's memory figures start clean. */
async function clearTutorialKeys(redisUrl: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', '{bench-tutorial}:*', 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** A progress callback that prints about every 10 %. */
export function progressEvery(context: { progress: (line: string) => void }, label: string, total: number) {
  let nextMark = 0.1;
  return (accepted: number) => {
    if (accepted / total >= nextMark) {
      context.progress(`${label}: ${accepted.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}`);
      while (accepted / total >= nextMark) nextMark += 0.1;
    }
  };
}
