/**
 * The deliver worker: parse the job, deliver its range, map the outcome. A deferred batch (relay unavailable,
 * digest paused, shutdown) goes back to the delayed set without spending an attempt.
 */
import { DelayedError, UnrecoverableError, type Processor } from 'bullmq';
import type { App } from '../src/app.js';
import { deliverBatch, type BatchCounts, type DeliverBatchDeps } from '../src/delivery/deliver-batch.js';
import { createSendSlots } from '../src/delivery/send-slots.js';
import { parseJobPayload } from '../src/queue/job-definitions.js';
import { mapJobError } from './map-job-error.js';

/** Tunables of the deliver worker (tests shorten the waits). */
export interface DeliverWorkerOptions {
  /** Aborted on shutdown: running batches hand their remaining recipients back. */
  shutdownSignal?: AbortSignal;
  relayRetryBaseMs?: number;
  relayRetryMaxMs?: number;
  pausedRecheckMs?: number;
}

/** The processor of the `deliver` queue. */
export function createDeliverProcessor(app: App, options: DeliverWorkerOptions = {}): Processor<unknown, BatchCounts> {
  const base: Omit<DeliverBatchDeps, 'logger' | 'mailer'> = {
    digests: app.digests,
    templates: app.templates,
    ledger: app.ledger,
    subscribers: app.subscribers,
    clock: app.clock,
    sendConcurrency: app.config.smtp.poolSize,
    // One slot per pooled connection for all the batches this process runs at once (DELIVERY_CONCURRENCY).
    sendSlots: createSendSlots(app.config.smtp.poolSize),
    // Messages per second across every worker on every host (SEND_RATE_PER_SECOND, `letterpress rate set`).
    sendRate: app.sendRate,
    pauseAfterPermanentFailures: app.config.delivery.pauseAfterPermanentFailures,
    relayRetryBaseMs: options.relayRetryBaseMs,
    relayRetryMaxMs: options.relayRetryMaxMs,
    pausedRecheckMs: options.pausedRecheckMs,
  };
  return async (job, token, signal) => {
    const parsed = parseJobPayload('deliver', job.data);
    if (!parsed.success) throw new UnrecoverableError(parsed.reason);
    const payload = parsed.data;
    const logger = app.logger.child({ queue: job.queueName, digestId: payload.digestId, jobId: job.id });
    // One controller per job, fed by the job's own signal and the process's shutdown signal; the listeners go in
    // `finally`. (AbortSignal.any would do the same, but on Node 20 every derived signal stays referenced by its
    // sources for the life of the process: tens of megabytes per million jobs.)
    const stopping = new AbortController();
    const stop = () => stopping.abort();
    const sources = [signal, options.shutdownSignal].filter((s): s is AbortSignal => s !== undefined);
    for (const source of sources) {
      if (source.aborted) stop();
      else source.addEventListener('abort', stop, { once: true });
    }
    try {
      const result = await deliverBatch({ ...base, mailer: app.mailer, logger }, payload, {
        signal: stopping.signal,
        isFinalAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
      });
      if (result.kind === 'done') return result.counts;
      if (result.deferrals !== payload.deferrals) await job.updateData({ ...payload, deferrals: result.deferrals });
      await job.moveToDelayed(Date.now() + result.delayMs, token);
      throw new DelayedError(result.message);
    } catch (error) {
      if (error instanceof DelayedError) throw error;
      throw mapJobError(error);
    } finally {
      for (const source of sources) source.removeEventListener('abort', stop);
    }
  };
}
