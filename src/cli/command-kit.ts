/**
 * What every command file shares: the result shape, opening and closing the app, flag schemas whose errors read as
 * sentences about the flag ("--limit must be a positive whole number"), and the plumbing of long-running processes.
 * Command files register their commands on the program (one file per command group); `main.ts` runs them.
 */
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread, parentPort } from 'node:worker_threads';
import { z } from 'zod';
import type { App, CreateAppOptions } from '../app.js';
import { loadConfig, type Config } from '../config.js';
import { AppError, isAppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RedisClient } from '../redis.js';

/** What a command hands back to the CLI. */
export interface CommandOutput {
  /** The machine-readable result (`--json`). */
  result: unknown;
  /** The human-readable text. */
  text?: string;
  /** @defaultValue 0 */
  exitCode?: number;
}

/** The function behind a command: its operands (as commander passes them), its own flags, and the global flags. */
export type CommandAction = (
  args: string[],
  flags: Record<string, unknown>,
  globals: GlobalFlags,
) => Promise<CommandOutput>;

/** Flags every command accepts, anywhere on the line. */
export interface GlobalFlags {
  json: boolean;
}

/** Exit codes: 0 success, 1 a failure of the operation, 2 a usage error. */
export const ExitCode = { ok: 0, failed: 1, usage: 2 } as const;

/** How `main.ts` learns what a command produced (commander's action handlers return nothing useful). */
export interface CommandSink {
  output(output: CommandOutput, globals: GlobalFlags): void;
}

/**
 * Attaches an action to a command: collects operands and flags, runs it, hands the output to the sink. Errors
 * propagate to `main.ts`, which prints the one-line reason.
 */
export function defineAction(command: Command, sink: CommandSink, action: CommandAction): Command {
  return command.action(async (...received: unknown[]) => {
    const self = received[received.length - 1] as Command;
    const globals = { json: Boolean(self.optsWithGlobals().json) };
    const output = await action(self.args, self.opts(), globals);
    sink.output(output, globals);
  });
}

/** Adds a command group (`letterpress <group> <command>`); the group alone lists its commands. */
export function defineGroup(program: Command, name: string, description: string): Command {
  return program.command(name).description(description).helpCommand(false);
}

/**
 * Parses a command's flags (or operands) with a schema. Each issue becomes a sentence; messages that already name
 * their flag (`--limit must be ...`) are kept as they are. Throws `input_invalid` (exit code 2).
 */
export function parseFlags<S extends z.ZodType>(schema: S, values: unknown): z.infer<S> {
  const parsed = schema.safeParse(values);
  if (parsed.success) return parsed.data;
  const reasons = parsed.error.issues.map((issue) => {
    if (issue.message.startsWith('--') || issue.path.length === 0) return issue.message;
    return `--${kebabCase(String(issue.path[0]))}: ${issue.message}`;
  });
  throw new AppError('input_invalid', reasons.join('; '));
}

function kebabCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** A whole-number flag with bounds, explained in words when it is not one. */
export function wholeNumberFlag(flag: string, bounds: { min: number; max: number }) {
  const words =
    bounds.min === 1
      ? `--${flag} must be a positive whole number`
      : `--${flag} must be a whole number from ${bounds.min}`;
  const message = `${words} up to ${bounds.max}`;
  return z.coerce
    .number({ error: message })
    .int({ error: message })
    .min(bounds.min, { error: message })
    .max(bounds.max, {
      error: message,
    });
}

/** An ISO 8601 date-time flag. */
export function dateTimeFlag(flag: string) {
  return z
    .string()
    .datetime({ offset: true, error: `--${flag} must be an ISO 8601 date-time, e.g. 2026-11-27T06:00:00Z` });
}

/** A newsletter id flag; whether it is configured is checked against the config by the command. */
export function newsletterIdFlag() {
  return z.string().min(1, { error: '--newsletter needs a newsletter id' });
}

/** Exactly one operand, named in the error. */
export function oneOperand(args: string[], what: string): string {
  if (args.length !== 1) {
    throw new AppError('input_invalid', `expected exactly one ${what}, got ${args.length}`);
  }
  return args[0] as string;
}

/** Loads config, opens the app quietly (one-shot commands print only errors), runs the function, closes the app. */
export async function withApp<T>(run: (app: App, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const { createApp } = await import('../app.js');
  const { createLogger } = await import('../logger.js');
  const app = await createApp(config, {
    logger: createLogger(config.logLevel === 'info' || config.logLevel === 'warn' ? 'error' : config.logLevel),
  });
  try {
    return await run(app, config);
  } finally {
    await app.close();
  }
}

/**
 * Opens a bare Redis connection without the start-up checks, for commands that report on a Redis that may be
 * misconfigured or down (`health`, `doctor`): each command fails fast instead of waiting for Redis to come back.
 */
export async function withRedis<T>(run: (redis: RedisClient, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const { createRedis } = await import('../redis.js');
  const redis = createRedis(config.redis, {
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: true,
    enableAutoPipelining: false,
    // One-shot reports: no INFO round trip before the first command.
    enableReadyCheck: false,
  });
  redis.on('error', () => {});
  try {
    return await run(redis, config);
  } finally {
    redis.disconnect();
  }
}

/**
 * Resolves on the first SIGTERM or SIGINT; `signal` is aborted then too. In a worker thread (where `letterpress
 * worker` runs, see bin/worker-thread.js) the signals arrive as `{ stop }` messages from the process's main thread.
 */
export function untilStopSignal(): { stopped: Promise<void>; signal: AbortSignal } {
  const controller = new AbortController();
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      parentPort?.off('message', onMessage);
      controller.abort();
      resolve();
    };
    const onMessage = (message: unknown) => {
      if (typeof message === 'object' && message !== null && 'stop' in message) stop();
    };
    if (!isMainThread) parentPort?.on('message', onMessage);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return { stopped, signal: controller.signal };
}

/**
 * Opens the app for a long-running process, waiting for Redis instead of exiting when it does not answer yet (so a
 * restart policy never turns a Redis outage into a crash loop). Returns undefined when stopped while waiting.
 */
export async function openAppWaitingForRedis(
  config: Config,
  logger: Logger,
  signal: AbortSignal,
  options: Omit<CreateAppOptions, 'logger'> = {},
): Promise<App | undefined> {
  const { createApp } = await import('../app.js');
  for (let attempt = 1; !signal.aborted; attempt += 1) {
    try {
      return await createApp(config, { ...options, logger });
    } catch (error) {
      if (!isAppError(error, 'redis_unavailable')) throw error;
      const seconds = Math.min(2 ** Math.min(attempt - 1, 4), 15);
      logger.warn(`${error.message}; waiting for Redis, next try in ${seconds} s`);
      await sleep(seconds * 1000, undefined, { signal }).catch(() => undefined);
    }
  }
  return undefined;
}

/** Long-running processes say loudly when anyone could forge their unsubscribe links. */
export function warnAboutDevelopmentSecret(config: Config, logger: Pick<Logger, 'warn'>): void {
  if (config.isDevelopmentSecret) {
    logger.warn(
      'LETTERPRESS_SECRET is not set: tokens are signed with the public development secret, so anyone can forge unsubscribe links. Set it before real readers subscribe.',
    );
  }
}
