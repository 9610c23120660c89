/**
 * The automation worker: what runs on its own. Scheduled sends (delayed jobs), feed polls and newsletter schedules
 * (BullMQ job schedulers kept in step with the configuration by `syncSchedulers`). Each handler parses its payload
 * and calls one use case.
 */
import { UnrecoverableError, type Job, type Processor } from 'bullmq';
import { useCaseDeps, type App } from '../src/app.js';
import { ingestSources } from '../src/articles/ingest-sources.js';
import { findNewsletter } from '../src/config.js';
import { runNewsletterSchedule } from '../src/delivery/run-newsletter-schedule.js';
import { sendDigest } from '../src/delivery/send-digest.js';
import { pollFeed } from '../src/feeds/poll-feed.js';
import { parseJobPayload, type JobName, type ParsedJobPayload } from '../src/queue/job-definitions.js';
import { mapJobError } from './map-job-error.js';

type Handler = (job: Job) => Promise<unknown>;

function parsed<N extends JobName>(name: N, job: Job): ParsedJobPayload<N> {
  const result = parseJobPayload(name, job.data);
  if (!result.success) throw new UnrecoverableError(result.reason);
  return result.data;
}

/** The handlers of the `automation` queue, by job name. */
function automationHandlers(app: App): Record<string, Handler> {
  return {
    'scheduled-send': async (job) => {
      const { digestId, scheduledFor } = parsed('scheduled-send', job);
      return sendDigest(useCaseDeps(app, app.logger.child({ digestId, jobId: job.id })), { digestId, scheduledFor });
    },
    'feed-poll': async (job) => {
      const payload = parsed('feed-poll', job);
      const logger = app.logger.child({ feedId: payload.feedId });
      const ingest = async (sources: string[], options: Parameters<typeof ingestSources>[2]) => {
        const report = await ingestSources(
          {
            store: app.articles,
            logger,
            maxBytes: app.config.feed.maxBytes,
            fetchTimeoutMs: app.config.feed.fetchTimeoutMs,
            allowPrivateAddresses: app.config.feed.allowPrivateAddresses,
            clock: app.clock,
          },
          sources,
          options,
        );
        // Counted where /metrics reads (a feed failing for an hour pages someone); a failed count loses no article.
        await app.metrics.recordIngestReport(report, app.clock()).catch(() => undefined);
        return report;
      };
      return pollFeed({ feeds: app.feeds, ingest, clock: app.clock, logger }, payload);
    },
    'newsletter-run': async (job) => {
      const { newsletterId } = parsed('newsletter-run', job);
      // A scheduler's job carries the time it was due (prevMillis); that time names the run's digest.
      const runAt = new Date(job.opts.prevMillis ?? job.timestamp);
      return runNewsletterSchedule(
        { ...useCaseDeps(app, app.logger.child({ newsletterId, jobId: job.id })), runs: app.scheduleRuns },
        { newsletter: findNewsletter(app.config, newsletterId), site: app.config.site, runAt },
      );
    },
  };
}

/** The processor of the `automation` queue. */
export function createAutomationProcessor(app: App): Processor<unknown, unknown> {
  const handlers = automationHandlers(app);
  return async (job) => {
    const handler = handlers[job.name];
    if (!handler) throw new UnrecoverableError(`no handler for automation job "${job.name}"`);
    try {
      return await handler(job);
    } catch (error) {
      throw mapJobError(error);
    }
  };
}
