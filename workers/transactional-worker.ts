/**
 * The transactional worker: one-off messages that are not a digest's deliveries. Each job name has its handler here
 * (an editor's `test-send` today; the subscribe flow's confirmations join the same table). A handler parses its
 * payload, calls one use case, and a permanent relay refusal ends the job instead of retrying it.
 */
import { UnrecoverableError, type Job, type Processor } from 'bullmq';
import type { App } from '../src/app.js';
import { findNewsletter } from '../src/config.js';
import { sendTestDigest } from '../src/delivery/send-test-digest.js';
import { isAppError } from '../src/errors.js';
import { parseJobPayload } from '../src/queue/job-definitions.js';
import { classifySmtpReply } from '../src/smtp/classify-smtp-reply.js';
import { mapJobError } from './map-job-error.js';

type Handler = (job: Job) => Promise<unknown>;

/** The handlers of the `transactional` queue, by job name. */
function transactionalHandlers(app: App): Record<string, Handler> {
  return {
    'test-send': async (job) => {
      const parsed = parseJobPayload('test-send', job.data);
      if (!parsed.success) throw new UnrecoverableError(parsed.reason);
      const { digestId, to, requestId, requestedBy } = parsed.data;
      const digest = await app.digests.get(digestId);
      return sendTestDigest(
        {
          digests: app.digests,
          articles: app.articles,
          clock: app.clock,
          logger: app.logger.child({ digestId, jobId: job.id }),
          send: async (message) => {
            await app.mailer.send(message);
          },
        },
        {
          digestId,
          to,
          newsletter: findNewsletter(app.config, digest?.newsletterId ?? ''),
          site: app.config.site,
          secret: app.config.secret,
          requestId,
          requestedBy,
        },
      );
    },
  };
}

/** The processor of the `transactional` queue. */
export function createTransactionalProcessor(app: App): Processor<unknown, unknown> {
  const handlers = transactionalHandlers(app);
  return async (job) => {
    const handler = handlers[job.name];
    if (!handler) throw new UnrecoverableError(`no handler for transactional job "${job.name}"`);
    try {
      return await handler(job);
    } catch (error) {
      if (error instanceof UnrecoverableError || isAppError(error)) throw mapJobError(error);
      const reply = classifySmtpReply(error);
      if (reply.kind === 'permanent-mailbox' || reply.kind === 'permanent-other') {
        throw new UnrecoverableError(`the relay refused it for good: ${reply.message}`);
      }
      throw mapJobError(error);
    }
  };
}
