/**
 * `letterpress queue ...`: every queue's counts and rates, its failed jobs, retrying them, pausing, draining (pause and
 * wait for running jobs) and resuming.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { QueueName } from '../../queue/job-definitions.js';
import type { QueueFigures } from '../../queue/queue-admin.js';
import { defineAction, defineGroup, parseFlags, wholeNumberFlag, withApp, type CommandSink } from '../command-kit.js';

const QUEUE_NAMES = Object.values(QueueName);
const queueFlag = () =>
  z.enum(QUEUE_NAMES as [QueueName, ...QueueName[]], { error: `--queue must be one of ${QUEUE_NAMES.join(', ')}` });

const QueueFlagsSchema = z.object({ queue: queueFlag().optional() });
const DrainFlagsSchema = z.object({
  queue: queueFlag().optional(),
  timeout: wholeNumberFlag('timeout', { min: 1, max: 86_400 }).default(600),
});
const FailedFlagsSchema = z.object({
  queue: queueFlag().optional(),
  limit: wholeNumberFlag('limit', { min: 1, max: 1000 }).default(20),
});

/** The queues a command acts on: the one named, or all. */
function chosen(queue: QueueName | undefined): QueueName[] {
  return queue ? [queue] : QUEUE_NAMES;
}

/** One row of `queue status`. */
function statusRow(figures: QueueFigures): string[] {
  const c = figures.counts;
  return [
    figures.name,
    String(c.waiting + c.prioritized + c['waiting-children']),
    String(c.active),
    String(c.delayed),
    String(c.failed),
    String(figures.completedTotal),
    figures.completedPerMinute.toFixed(1),
    figures.failedPerMinute.toFixed(1),
    figures.isPaused ? 'paused' : 'running',
    figures.workers === undefined ? '?' : String(figures.workers),
  ];
}

/** Lays rows out in columns. */
function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Registers the `queue` group. */
export function registerQueueCommands(program: Command, sink: CommandSink): void {
  const queue = defineGroup(program, 'queue', 'the job queues: counts, failed jobs, retry, pause, drain and resume');

  const status = queue.command('status').description('every queue’s job counts, recent rates and workers');
  defineAction(status, sink, async () =>
    withApp(async (app) => {
      const queues = await Promise.all(app.queues.admin.names.map((name) => app.queues.admin.describe(name)));
      const workers = await app.heartbeats.list(app.clock());
      const alive = workers.filter((worker) => !worker.isStale);
      const stale = workers.filter((worker) => worker.isStale);
      const header = [
        'queue',
        'waiting',
        'active',
        'delayed',
        'failed',
        'completed',
        'done/min',
        'failed/min',
        'state',
        'workers',
      ];
      const text = [
        table([header, ...queues.map(statusRow)]),
        '(rates: jobs per minute over the last 5 minutes)',
        `workers: ${alive.length} beating${stale.length > 0 ? `, ${stale.length} stopped beating: ${stale.map((w) => w.id).join(', ')}` : ''}`,
      ].join('\n');
      return {
        result: {
          queues,
          workers: { alive: alive.length, stale: stale.map(({ id, host, pid, ageMs }) => ({ id, host, pid, ageMs })) },
        },
        text,
      };
    }),
  );

  const failed = queue
    .command('failed')
    .description('failed jobs with the reason each failed')
    .option('--queue <name>', `one queue (${QUEUE_NAMES.join(', ')})`)
    .option('--limit <n>', 'newest failed jobs per queue (1-1000)', '20');
  defineAction(failed, sink, async (_args, values) => {
    const flags = parseFlags(FailedFlagsSchema, values);
    return withApp(async (app) => {
      const jobs = (
        await Promise.all(chosen(flags.queue).map((name) => app.queues.admin.listFailed(name, flags.limit)))
      ).flat();
      const text =
        jobs.length === 0
          ? `no failed jobs${flags.queue ? ` in ${flags.queue}` : ''}`
          : jobs
              .map(
                (job) =>
                  `${job.queue}  ${job.id}  ${job.failedAt ?? ''}  after ${job.attemptsMade} attempt(s)\n    ${job.reason}`,
              )
              .join('\n');
      return { result: { jobs }, text };
    });
  });

  const retry = queue
    .command('retry-failed')
    .description('move failed jobs back to waiting, attempts reset (safe: settled readers are never sent twice)')
    .option('--queue <name>', `one queue (${QUEUE_NAMES.join(', ')})`);
  defineAction(retry, sink, async (_args, values) => {
    const flags = parseFlags(QueueFlagsSchema, values);
    return withApp(async (app) => {
      const retried: Record<string, number> = {};
      for (const name of chosen(flags.queue)) retried[name] = await app.queues.admin.retryFailed(name);
      const text = Object.entries(retried)
        .map(([name, count]) => `${name}: ${count} failed job(s) retried`)
        .join('\n');
      return { result: { retried }, text };
    });
  });

  for (const action of ['pause', 'resume'] as const) {
    const command = queue
      .command(action)
      .description(
        action === 'pause'
          ? 'pause queues for every worker: running jobs finish, no new job starts'
          : 'resume paused queues',
      )
      .option('--queue <name>', `one queue (${QUEUE_NAMES.join(', ')}); default all`);
    defineAction(command, sink, async (_args, values) => {
      const flags = parseFlags(QueueFlagsSchema, values);
      return withApp(async (app) => {
        const names = chosen(flags.queue);
        for (const name of names) await app.queues.admin[action](name);
        const state = action === 'pause' ? 'paused' : 'running';
        return {
          result: { queues: Object.fromEntries(names.map((name) => [name, state])) },
          text: names.map((name) => `${name}: ${state}`).join('\n'),
        };
      });
    });
  }

  const drain = queue
    .command('drain')
    .description(
      'pause queues, then wait until their running jobs finish (delivery batches send what they hold, record every ' +
        'outcome and hand the rest back); waiting jobs are kept, nothing is deleted: `queue resume` carries on',
    )
    .option('--queue <name>', `one queue (${QUEUE_NAMES.join(', ')}); default all`)
    .option('--timeout <seconds>', 'stop waiting after this long; the queues stay paused (1-86400)', '600');
  defineAction(drain, sink, async (_args, values) => {
    const flags = parseFlags(DrainFlagsSchema, values);
    return withApp(async (app) => {
      const names = chosen(flags.queue);
      // Pause every chosen queue first, so none takes new work while another is still waited for.
      for (const name of names) await app.queues.admin.pause(name);
      const deadline = Date.now() + flags.timeout * 1000;
      const reports = [];
      for (const name of names) {
        reports.push(await app.queues.admin.drain(name, { timeoutMs: Math.max(0, deadline - Date.now()) }));
      }
      const isDrained = reports.every((report) => report.isDrained);
      const text = reports
        .map((report) =>
          report.isDrained
            ? `${report.name}: paused, no job running (${(report.waitedMs / 1000).toFixed(1)} s); ` +
              `${report.waiting} waiting and ${report.delayed} delayed job(s) kept for \`queue resume\``
            : `${report.name}: paused, still ${report.active} job(s) running after ${flags.timeout} s`,
        )
        .join('\n');
      return { result: { isDrained, queues: reports }, text, exitCode: isDrained ? 0 : 1 };
    });
  });
}
