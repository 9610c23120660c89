/**
 * The transactional worker: sign-up confirmations, welcome messages, editors' test copies (whatever kind the job names), on a
 * queue of their own; also the repeating purge of sign-ups nobody confirmed.
 */
import { UnrecoverableError, type Processor } from 'bullmq';
import type { App } from '../src/app.js';
import {
  sendTransactionalMessage,
  type SendTransactionalMessageDeps,
  type TransactionalOutcome,
} from '../src/delivery/send-transactional-message.js';
import { parseJobPayload } from '../src/queue/job-definitions.js';
import { mapJobError } from './map-job-error.js';

/** The transactional use case's dependencies, wired from the app. */
export function transactionalDepsFromApp(app: App): SendTransactionalMessageDeps {
  return {
    config: app.config,
    subscribers: app.subscribers,
    mailer: app.mailer,
    clock: app.clock,
    logger: app.logger,
    issues: { digests: app.digests, articles: app.articles },
  };
}

/** The processor of the `transactional` queue. */
export function createTransactionalProcessor(app: App): Processor<unknown, TransactionalOutcome | unknown> {
  return async (job) => {
    try {
      if (job.name === 'purgeRequests') {
        const ttlMs = app.config.subscribe.confirmTtlHours * 3_600_000;
        return await app.subscribers.purgeExpiredRequests(new Date(app.clock().getTime() - ttlMs));
      }
      const parsed = parseJobPayload('transactional', job.data);
      if (!parsed.success) throw new UnrecoverableError(parsed.reason);
      const logger = app.logger.child({ jobId: job.id });
      return await sendTransactionalMessage({ ...transactionalDepsFromApp(app), logger }, parsed.data);
    } catch (error) {
      if (error instanceof UnrecoverableError) throw error;
      throw mapJobError(error);
    }
  };
}
