/** The fan-out worker: parse the job, fan the digest out, map errors. */
import { UnrecoverableError, type Processor } from 'bullmq';
import type { App } from '../src/app.js';
import { fanOutDigest, type FanOutDigestDeps, type FanOutResult } from '../src/delivery/fan-out-digest.js';
import { parseJobPayload } from '../src/queue/job-definitions.js';
import { mapJobError } from './map-job-error.js';

/** The fan-out use case's dependencies, wired from the app. */
export function fanOutDepsFromApp(app: App, overrides: Partial<FanOutDigestDeps> = {}): FanOutDigestDeps {
  return {
    digests: app.digests,
    ledger: app.ledger,
    enqueueDeliveries: async (payloads, options) => {
      if (options.revive) await app.queues.reviveMany('deliver', payloads);
      else await app.queues.enqueueMany('deliver', payloads);
    },
    batchSize: app.config.delivery.batchSize,
    clock: app.clock,
    logger: app.logger,
    ...overrides,
  };
}

/** The processor of the `fanout` queue. */
export function createFanOutProcessor(app: App): Processor<unknown, FanOutResult> {
  return async (job) => {
    const parsed = parseJobPayload('fanout', job.data);
    if (!parsed.success) throw new UnrecoverableError(parsed.reason);
    const logger = app.logger.child({ queue: job.queueName, digestId: parsed.data.digestId, jobId: job.id });
    const deps = fanOutDepsFromApp(app, { logger });
    try {
      return await fanOutDigest(deps, parsed.data);
    } catch (error) {
      throw mapJobError(error);
    }
  };
}
