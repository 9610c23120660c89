/**
 * The CLI's commands: each parses its flags with a zod schema, calls one use case through the app, and returns a
 * result object (printed as JSON with `--json`) plus a human-readable text.
 */
import { writeFile } from 'node:fs/promises';
import type { ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import type { App } from '../app.js';
import { findNewsletter, loadConfig, type Config } from '../config.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, isAppError, parseInput } from '../errors.js';
import { createLogger } from '../logger.js';
import { DigestSchema } from '../digests/digest.js';
import { EmailSchema } from '../subscribers/subscriber.js';

// Use cases are imported when their command runs: MJML, BullMQ and the feed parser each take a noticeable time to
// load, and a command should pay only for what it uses.

/** What a command hands back to the CLI. */
export interface CommandOutput {
  /** The machine-readable result (`--json`). */
  result: unknown;
  /** The human-readable text. */
  text?: string;
  exitCode?: number;
}

/** Flags and positionals after parseArgs. */
export interface CommandInput {
  values: Record<string, unknown>;
  positionals: string[];
}

/** A CLI command. */
export interface Command {
  options: NonNullable<ParseArgsConfig['options']>;
  run(input: CommandInput): Promise<CommandOutput>;
}

const DigestIdSchema = z
  .string()
  .refine((id) => DigestSchema.shape.id.safeParse(id).success, 'must be a digest id as printed by `digest create`');
const NewsletterIdSchema = z.string().min(1, 'is required');

/** Long-running processes say loudly when anyone could forge their unsubscribe links. */
function warnAboutDevelopmentSecret(config: Config, logger: { warn(message: string): void }): void {
  if (config.isDevelopmentSecret) {
    logger.warn(
      'LETTERPRESS_SECRET is not set: tokens are signed with the public development secret, so anyone can forge unsubscribe links. Set it before real readers subscribe.',
    );
  }
}

/** Resolves on the first SIGTERM or SIGINT; `signal` is aborted then too. */
function untilStopSignal(): { stopped: Promise<void>; signal: AbortSignal } {
  const controller = new AbortController();
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      controller.abort();
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return { stopped, signal: controller.signal };
}

/**
 * Opens the app for a long-running process, waiting for Redis instead of exiting when it does not answer yet (so a
 * restart policy never turns a Redis outage into a crash loop). Returns undefined when stopped while waiting.
 */
async function openAppWaitingForRedis(
  config: Config,
  logger: ReturnType<typeof createLogger>,
  signal: AbortSignal,
): Promise<App | undefined> {
  const { createApp } = await import('../app.js');
  for (let attempt = 1; !signal.aborted; attempt += 1) {
    try {
      return await createApp(config, { logger });
    } catch (error) {
      if (!isAppError(error, 'redis_unavailable')) throw error;
      const seconds = Math.min(2 ** Math.min(attempt - 1, 4), 15);
      logger.warn(`${error.message}; waiting for Redis, next try in ${seconds} s`);
      await sleep(seconds * 1000, undefined, { signal }).catch(() => undefined);
    }
  }
  return undefined;
}

/** Loads config, opens the app, runs the function, always closes the app. */
async function withApp<T>(run: (app: App, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const { createApp } = await import('../app.js');
  // One-shot commands print only errors; warnings about the deployment belong to the long-running processes.
  const app = await createApp(config, {
    logger: createLogger(config.logLevel === 'info' || config.logLevel === 'warn' ? 'error' : config.logLevel),
  });
  try {
    return await run(app, config);
  } finally {
    await app.close();
  }
}

function one(positionals: string[], what: string): string {
  if (positionals.length !== 1)
    throw new AppError('input_invalid', `expected exactly one ${what}, got ${positionals.length}`);
  return positionals[0] as string;
}

/** The command table, keyed by `name` or `group name`. */
export const commands: Record<string, Command> = {
  demo: {
    options: { out: { type: 'string' }, keep: { type: 'boolean' } },
    async run({ values }) {
      const flags = parseInput(
        z.object({ out: z.string().min(1).default('./demo-out'), keep: z.boolean().default(false) }),
        values,
        'demo flags',
      );
      const { runDemo } = await import('../demo/run-demo.js');
      const summary = await runDemo({ outDir: flags.out, keepData: flags.keep, env: process.env });
      return { result: summary, text: summary.text };
    },
  },

  ingest: {
    options: {},
    async run({ positionals }) {
      const sources = parseInput(
        z.array(z.string().min(1)).min(1, 'name at least one feed file or URL'),
        positionals,
        'ingest sources',
      );
      return withApp(async (app, config) => {
        const { ingestSources } = await import('../articles/ingest-sources.js');
        const report = await ingestSources(
          {
            store: app.articles,
            logger: app.logger,
            maxBytes: config.feed.maxBytes,
            fetchTimeoutMs: config.feed.fetchTimeoutMs,
          },
          sources,
        );
        const lines = [
          `ingested ${report.ingested}, updated ${report.updated}, unchanged ${report.unchanged}, rejected sources ${report.rejected.length}`,
          ...report.rejected.map((r) => `  rejected ${r.source}: ${r.reason}`),
        ];
        return {
          result: report,
          text: lines.join('\n'),
          exitCode: report.rejected.length > 0 && report.rejected.length === sources.length ? 1 : 0,
        };
      });
    },
  },

  'articles list': {
    options: { limit: { type: 'string' } },
    async run({ values }) {
      const flags = parseInput(
        z.object({ limit: z.coerce.number().int().min(1).max(1000).default(50) }),
        values,
        'articles list flags',
      );
      return withApp(async (app) => {
        const articles = await app.articles.list(flags.limit);
        const text = articles.map((a) => `${a.publishedAt}  [${a.section}]  ${a.title}\n    ${a.url}`).join('\n');
        return {
          result: { articles: articles.map(({ contentHtml: _content, ...rest }) => rest) },
          text: text || 'no articles yet: run `letterpress ingest <feed>`',
        };
      });
    },
  },

  'subscribers add': {
    options: { newsletter: { type: 'string', multiple: true }, resubscribe: { type: 'boolean' } },
    async run({ values, positionals }) {
      const email = parseInput(EmailSchema, one(positionals, 'email address'), 'email');
      const flags = parseInput(
        z.object({ newsletter: z.array(NewsletterIdSchema).optional(), resubscribe: z.boolean().default(false) }),
        values,
        'subscribers add flags',
      );
      return withApp(async (app, config) => {
        const newsletterIds = flags.newsletter ?? config.newsletters.map((n) => n.id);
        for (const id of newsletterIds) findNewsletter(config, id);
        const added = await app.subscribers.add({
          email,
          newsletterIds,
          status: 'active',
          resubscribe: flags.resubscribe,
        });
        const { subscriber, created } = added;
        const refusal =
          added.refusal === 'suppressed'
            ? 'the address is suppressed (it bounced or complained) and is never reactivated'
            : added.refusal === 'unsubscribed'
              ? 'the reader unsubscribed earlier; pass --resubscribe only if they opted in again'
              : undefined;
        const newsletters = subscriber.newsletters.length > 0 ? subscriber.newsletters.join(', ') : 'no newsletter';
        return {
          result: {
            id: subscriber.id,
            status: subscriber.status,
            newsletters: subscriber.newsletters,
            created,
            ...(refusal ? { refused: refusal } : {}),
          },
          text: `${created ? 'added' : 'already known'}: subscriber ${subscriber.id} (${subscriber.status}) to ${newsletters}${refusal ? `; not resubscribed: ${refusal}` : ''}`,
          exitCode: refusal ? 1 : 0,
        };
      });
    },
  },

  'subscribers remove': {
    options: { newsletter: { type: 'string', multiple: true } },
    async run({ values, positionals }) {
      const email = parseInput(EmailSchema, one(positionals, 'email address'), 'email');
      const flags = parseInput(
        z.object({ newsletter: z.array(NewsletterIdSchema).optional() }),
        values,
        'subscribers remove flags',
      );
      return withApp(async (app, config) => {
        for (const id of flags.newsletter ?? []) findNewsletter(config, id);
        const found = await app.subscribers.getByEmail(email);
        if (!found) throw new AppError('subscriber_not_found', 'no subscriber with that address');
        let subscriber = found;
        for (const newsletterId of flags.newsletter ?? [undefined]) {
          subscriber = (await app.subscribers.unsubscribe(found.id, newsletterId)) ?? subscriber;
        }
        const left = subscriber.newsletters.length > 0 ? subscriber.newsletters.join(', ') : 'no newsletter';
        return {
          result: { id: subscriber.id, status: subscriber.status, newsletters: subscriber.newsletters },
          text: `removed: subscriber ${subscriber.id} (${subscriber.status}) now takes ${left}; it takes effect for digests being sent too`,
        };
      });
    },
  },

  'digest create': {
    options: { newsletter: { type: 'string' }, since: { type: 'string' } },
    async run({ values }) {
      const flags = parseInput(
        z.object({
          newsletter: NewsletterIdSchema.default('daily'),
          since: z
            .string()
            .datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2026-11-27T06:00:00Z' })
            .optional(),
        }),
        values,
        'digest create flags',
      );
      return withApp(async (app, config) => {
        const newsletter = findNewsletter(config, flags.newsletter);
        const { createDigest } = await import('../digests/create-digest.js');
        const digest = await createDigest(
          {
            articles: app.articles,
            digests: app.digests,
            lastSentAt: (id) => app.lastSentAt(id),
            clock: () => new Date(),
          },
          { newsletter, site: config.site, since: flags.since ? new Date(flags.since) : undefined },
        );
        return {
          result: {
            id: digest.id,
            newsletterId: digest.newsletterId,
            subject: digest.subject,
            articles: digest.articleIds.length,
          },
          text: digest.id,
        };
      });
    },
  },

  'digest preview': {
    options: { format: { type: 'string' }, out: { type: 'string' } },
    async run({ values, positionals }) {
      const digestId = parseInput(DigestIdSchema, one(positionals, 'digest id'), 'digest id');
      const flags = parseInput(
        z.object({ format: z.enum(['html', 'text', 'eml']).default('html'), out: z.string().min(1).optional() }),
        values,
        'digest preview flags',
      );
      return withApp(async (app, config) => {
        const digest = await app.digests.get(digestId);
        const body = await app.digests.getBody(digestId);
        if (!digest || !body) throw new AppError('digest_not_found', `no digest "${digestId}"`);
        const newsletter = findNewsletter(config, digest.newsletterId);
        const { renderDigestPreview } = await import('../mail/preview-digest.js');
        const content = renderDigestPreview({
          digest,
          body,
          newsletter,
          site: config.site,
          secret: config.secret,
          format: flags.format,
        });
        if (flags.out) {
          await writeFile(flags.out, content);
          return {
            result: { digestId, format: flags.format, out: flags.out, bytes: Buffer.byteLength(content) },
            text: `wrote ${flags.out}`,
          };
        }
        return { result: { digestId, format: flags.format, content }, text: content };
      });
    },
  },

  'digest send': {
    options: { wait: { type: 'boolean' }, timeout: { type: 'string' } },
    async run({ values, positionals }) {
      const digestId = parseInput(DigestIdSchema, one(positionals, 'digest id'), 'digest id');
      const flags = parseInput(
        z.object({
          wait: z.boolean().default(false),
          timeout: z.coerce.number().int().min(1).max(86_400).default(3_600),
        }),
        values,
        'digest send flags',
      );
      return withApp(async (app) => {
        const { sendDigest } = await import('../delivery/send-digest.js');
        const { waitForDigestSettled } = await import('../delivery/wait-for-digest.js');
        const started = await sendDigest(app, { digestId });
        if (!flags.wait) {
          const hints: Record<string, string> = {
            sending: 'workers deliver it: run `letterpress worker` if none is running',
            paused: `it is paused: see \`letterpress digest status ${digestId}\`, then \`letterpress digest resume ${digestId}\``,
            sent: 'it was already sent; nobody receives it twice',
            cancelled: 'it was cancelled',
          };
          return {
            result: { digestId, status: started.status },
            text: `digest ${digestId}: ${started.status} (${hints[started.status] ?? 'see digest status'})`,
          };
        }
        const digest = await waitForDigestSettled(app, digestId, { timeoutMs: flags.timeout * 1000 });
        const counts = digest.counts;
        return {
          result: {
            digestId,
            status: digest.status,
            recipients: counts.recipients,
            delivered: counts.delivered,
            failed: counts.failed,
            skipped: counts.skipped,
          },
          text: `digest ${digestId}: ${digest.status}; recipients ${counts.recipients}, delivered ${counts.delivered}, failed ${counts.failed}, skipped ${counts.skipped}`,
          exitCode: digest.status === 'sent' ? 0 : 1,
        };
      });
    },
  },

  'digest status': {
    options: {},
    async run({ positionals }) {
      const digestId = parseInput(DigestIdSchema, one(positionals, 'digest id'), 'digest id');
      return withApp(async (app) => {
        const digest = await app.digests.get(digestId);
        if (!digest) throw new AppError('digest_not_found', `no digest "${digestId}"`);
        const { findStalledDigestWork } = await import('../delivery/find-stalled-digest-work.js');
        // Only a digest still sending can be stuck; the job look-ups are not free at a million readers.
        const work = digest.status === 'sending' ? await findStalledDigestWork(app, { digestId }) : undefined;
        const failures = digest.counts.failed > 0 ? await app.ledger.listFailures(digestId, 10) : [];
        const c = digest.counts;
        const pending = Math.max(0, c.recipients - c.delivered - c.failed - c.skipped);
        const text = [
          `digest ${digest.id} (${digest.newsletterId}): ${digest.status}${digest.pausedReason ? ` (${digest.pausedReason})` : ''}`,
          `subject: ${digest.subject}`,
          `articles ${digest.articleIds.length}; recipients ${c.recipients}, delivered ${c.delivered}, failed ${c.failed}, skipped ${c.skipped}, pending ${pending}`,
          ...failures.map((f) => `  failed: subscriber ${f.subscriberId}: ${f.reason}`),
          ...(c.failed > failures.length ? [`  (${c.failed - failures.length} more failures)`] : []),
          ...(work?.isStalled && work.hint ? [`stalled: ${work.hint}`] : []),
        ].join('\n');
        return { result: { ...digest, failures, ...(work ? { work } : {}) }, text };
      });
    },
  },

  'digest resume': {
    options: {},
    async run({ positionals }) {
      const digestId = parseInput(DigestIdSchema, one(positionals, 'digest id'), 'digest id');
      return withApp(async (app) => {
        const { resumeDigest } = await import('../delivery/control-digest.js');
        const digest = await resumeDigest(app, { digestId });
        return { result: { digestId, status: digest.status }, text: `digest ${digestId}: ${digest.status}` };
      });
    },
  },

  'digest cancel': {
    options: {},
    async run({ positionals }) {
      const digestId = parseInput(DigestIdSchema, one(positionals, 'digest id'), 'digest id');
      return withApp(async (app) => {
        const { cancelDigest } = await import('../delivery/control-digest.js');
        const digest = await cancelDigest(app, { digestId });
        return { result: { digestId, status: digest.status }, text: `digest ${digestId}: ${digest.status}` };
      });
    },
  },

  worker: {
    options: {},
    async run() {
      let config = loadConfig();
      const logger = createLogger(config.logLevel, 'letterpress-worker');
      let stopCapture = async () => {};
      if (!config.smtp.url) {
        // Development default: an embedded capture server instead of a relay (production requires SMTP_URL).
        const { startCaptureServer } = await import('../capture/capture-server.js');
        const capture = await startCaptureServer({ directory: config.smtp.captureDir });
        stopCapture = capture.close;
        config = { ...config, smtp: { ...config.smtp, url: capture.url } };
        logger.warn({ directory: capture.directory }, 'no SMTP_URL: messages are captured as .eml files, not sent');
      }
      const { runWorkers } = await import('../../workers/run-workers.js');
      const { stopped, signal } = untilStopSignal();
      const app = await openAppWaitingForRedis(config, logger, signal);
      if (app) {
        warnAboutDevelopmentSecret(config, logger);
        const workers = await runWorkers(app, { handleSignals: false });
        await stopped;
        await workers.close();
        await app.close();
      }
      await stopCapture();
      return { result: { stopped: true }, text: 'worker stopped' };
    },
  },

  serve: {
    options: {},
    async run() {
      const config = loadConfig();
      const { startHttpServer } = await import('../http/server.js');
      const logger = createLogger(config.logLevel, 'letterpress-serve');
      const { stopped, signal } = untilStopSignal();
      const app = await openAppWaitingForRedis(config, logger, signal);
      if (app) {
        warnAboutDevelopmentSecret(config, logger);
        const server = await startHttpServer(app, { port: config.http.port });
        app.logger.info({ port: server.port }, 'listening');
        await stopped;
        await server.close();
        await app.close();
      }
      return { result: { stopped: true }, text: 'server stopped' };
    },
  },
};
