/** `letterpress worker` and `letterpress serve`: the two long-running processes. */
import type { Command } from 'commander';
import { loadConfig } from '../../config.js';
import {
  defineAction,
  openAppWaitingForRedis,
  untilStopSignal,
  warnAboutDevelopmentSecret,
  type CommandSink,
} from '../command-kit.js';

/**
 * How long `serve` waits for Redis to answer one command before the page says "back in a few minutes". Generous
 * for a healthy Redis (commands take microseconds; the largest script a page runs, milliseconds).
 */
const SERVE_REDIS_COMMAND_TIMEOUT_MS = 5_000;

/** Registers `worker` and `serve`. */
export function registerProcessCommands(program: Command, sink: CommandSink): void {
  const worker = program
    .command('worker')
    .description('run the queue workers (fan-out, delivery); run as many as you like');
  defineAction(worker, sink, async () => {
    let config = loadConfig();
    const { createLogger } = await import('../../logger.js');
    const logger = createLogger(config.logLevel, 'letterpress-worker');
    let stopCapture = async () => {};
    if (!config.smtp.url) {
      // Development default: an embedded capture server instead of a relay (production requires SMTP_URL).
      const { startCaptureServer } = await import('../../capture/capture-server.js');
      const capture = await startCaptureServer({ directory: config.smtp.captureDir });
      stopCapture = capture.close;
      config = { ...config, smtp: { ...config.smtp, url: capture.url } };
      logger.warn({ directory: capture.directory }, 'no SMTP_URL: messages are captured as .eml files, not sent');
    }
    const { runWorkers } = await import('../../../workers/run-workers.js');
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
  });

  const serve = program.command('serve').description('run the HTTP server (reader pages, webhooks, health)');
  defineAction(serve, sink, async () => {
    const config = loadConfig();
    const { createHttpApp, createStartingHttpApp, listenHttp } = await import('../../http/server.js');
    const { createLogger } = await import('../../logger.js');
    const logger = createLogger(config.logLevel, 'letterpress-serve');
    const { stopped, signal } = untilStopSignal();
    // Listen at once: until Redis answers, every page says "back in a few minutes" and /healthz answers 503.
    const server = await listenHttp(createStartingHttpApp(config.site), {
      port: config.http.port,
      hostname: config.http.host,
    });
    logger.info({ host: config.http.host, port: server.port }, 'listening');
    try {
      const app = await openAppWaitingForRedis(config, logger, signal, {
        redisCommandTimeoutMs: SERVE_REDIS_COMMAND_TIMEOUT_MS,
      });
      if (app) {
        warnAboutDevelopmentSecret(config, logger);
        server.replace(createHttpApp(app));
        await stopped;
        await app.close();
      }
    } finally {
      await server.close();
    }
    return { result: { stopped: true }, text: 'server stopped' };
  });
}
