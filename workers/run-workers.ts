/**
 * Starts the worker kinds of one process (`letterpress worker`): fan-out, delivery, transactional messages (test
 * sends) and automation (scheduled sends, feed polls, newsletter schedules, whose job schedulers it first brings in
 * step with the configuration), on the app's queues. Closing
 * stops taking jobs, lets running batches hand back what they have not sent (after their messages in flight are
 * recorded), then closes the workers' connections. The app (mailer, Redis) is closed by its owner.
 */
import { MetricsTime, Worker } from 'bullmq';
import type { App } from '../src/app.js';
import { startHeartbeat, type Heartbeat } from '../src/ops/run-heartbeat.js';
import { QueueName } from '../src/queue/job-definitions.js';
import { syncSchedulers } from '../src/queue/sync-schedulers.js';
import { createAutomationProcessor } from './automation-worker.js';
import { digestIdOfJob } from '../src/queue/queue-admin.js';
import { createDeliverProcessor, type DeliverWorkerOptions } from './deliver-worker.js';
import { createFanOutProcessor } from './fan-out-worker.js';
import { createTransactionalProcessor } from './transactional-worker.js';

/** A worker kind this process can run. */
export type WorkerKind = 'fanout' | 'deliver' | 'transactional' | 'automation';

/** How often sign-ups nobody confirmed are looked for (they are purged once their link has expired). */
export const PURGE_REQUESTS_EVERY_MS = 15 * 60_000;

/** Options of `runWorkers`. */
export interface RunWorkersOptions extends Omit<DeliverWorkerOptions, 'shutdownSignal'> {
  /** Which kinds to run. @defaultValue ['fanout', 'deliver', 'transactional', 'automation'] */
  kinds?: WorkerKind[];
  /** Delivery jobs at once. @defaultValue config.delivery.concurrency */
  concurrency?: number;
  /** Transactional messages at once. @defaultValue config.transactional.concurrency */
  transactionalConcurrency?: number;
  /**
   * Close gracefully on SIGTERM and SIGINT; when no other listener handles the signal, the process then ends as it
   * would have. @defaultValue true
   */
  handleSignals?: boolean;
}

/** Running workers. */
export interface RunningWorkers {
  workers: Worker[];
  /** This process's heartbeat (its id names it in `health` and the metrics). */
  heartbeat: Heartbeat;
  /** Graceful stop; safe to call more than once. */
  close(): Promise<void>;
}

/** Starts the workers and resolves once they are connected. */
export async function runWorkers(app: App, options: RunWorkersOptions = {}): Promise<RunningWorkers> {
  const kinds = options.kinds ?? ['fanout', 'deliver', 'transactional', 'automation'];
  const shutdown = new AbortController();
  // Fan-out and delivery jobs are idempotent, so a job whose worker died (stalled) may safely run again, more
  // than BullMQ's default of once: killing workers repeatedly must not fail a digest's jobs.
  // BullMQ's own metrics (completed and failed jobs per minute, kept a week) give `queue status` its rates and the
  // metrics their job totals, counted in Redis by every worker alike.
  const common = {
    connection: app.queues.connection,
    prefix: app.keys.bullPrefix,
    maxStalledCount: 20,
    metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
  };
  const workers: Worker[] = [];
  if (kinds.includes('fanout')) {
    workers.push(new Worker(QueueName.fanout, createFanOutProcessor(app), { ...common, concurrency: 1 }));
  }
  if (kinds.includes('deliver')) {
    workers.push(
      new Worker(QueueName.deliver, createDeliverProcessor(app, { ...options, shutdownSignal: shutdown.signal }), {
        ...common,
        concurrency: options.concurrency ?? app.config.delivery.concurrency,
      }),
    );
  }
  if (kinds.includes('transactional')) {
    // Its own queue and its own concurrency: a confirmation never waits for a digest's delivery jobs.
    workers.push(
      new Worker(QueueName.transactional, createTransactionalProcessor(app), {
        ...common,
        concurrency: options.transactionalConcurrency ?? app.config.transactional.concurrency,
      }),
    );
    await app.queues.repeat('purgeRequests', {}, PURGE_REQUESTS_EVERY_MS);
  }
  if (kinds.includes('automation')) {
    const synced = await syncSchedulers(app.queues, app.config);
    app.logger.info(synced, 'job schedulers in step with the configuration');
    workers.push(new Worker(QueueName.automation, createAutomationProcessor(app), { ...common, concurrency: 4 }));
  }
  for (const worker of workers) {
    // A job whose lock could not be renewed may be handed to another worker: its batch stops taking recipients (the
    // range lease stops it too, at the latest when the other worker starts).
    worker.on('lockRenewalFailed', (jobIds) => {
      app.logger.warn({ queue: worker.name, jobIds }, 'job lock renewal failed: stopping those jobs');
      for (const jobId of jobIds) worker.cancelJob(jobId, 'job lock renewal failed');
    });
    worker.on('failed', (job, error) => {
      app.logger.warn(
        {
          queue: worker.name,
          jobId: job?.id,
          digestId: digestIdOfJob(job),
          attemptsMade: job?.attemptsMade,
          reason: error.message,
        },
        'job failed',
      );
    });
    worker.on('error', (error) => app.logger.error({ queue: worker.name, err: error.message }, 'worker error'));
  }
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  const heartbeat = await startHeartbeat(app, { everyMs: app.config.ops.heartbeatMs, kinds });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      shutdown.abort();
      await Promise.all(workers.map((worker) => worker.close()));
      await heartbeat.stop();
      app.logger.info({ workerId: heartbeat.id }, 'workers stopped');
    })();
    return closing;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    // When nobody else listens for the signal, restore its default (exit) once the workers have stopped.
    const isOnlyListener = process.listenerCount(signal) === 0;
    void close().then(() => {
      if (isOnlyListener) process.kill(process.pid, signal);
    });
  };
  if (options.handleSignals ?? true) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  app.logger.info({ kinds, workerId: heartbeat.id }, 'workers started');
  return { workers, heartbeat, close };
}
