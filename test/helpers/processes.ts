/**
 * Long-running child processes of the `letterpress` command for the reliability tests and the chaos runs: spawn a
 * worker (or any subcommand) with its own environment, kill it with SIGKILL or SIGTERM, wait for it to exit, read
 * what it printed. Commands that run to completion use `runLetterpress` from `./cli.js`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './cli.js';

/** How a child process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running `letterpress` child process. */
export interface LetterpressProcess {
  pid: number;
  /** The arguments it was started with, for messages. */
  args: string[];
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<ProcessExit>;
  /** True until the process has exited. */
  isRunning(): boolean;
  /** Sends a signal (no-op once exited). */
  kill(signal: NodeJS.Signals): void;
  /**
   * Sends the signal and waits for the exit; after `graceMs` without an exit it sends SIGKILL, and the result's
   * `forced` says so.
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ProcessExit & { forced: boolean }>;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** The last `maxChars` characters written to stderr (the logs). */
  stderr(): string;
}

/** Options of a spawned `letterpress` process. */
export interface SpawnOptions {
  /** Environment on top of a minimal inherited one (PATH, HOME, NODE_*). */
  env: Record<string, string | undefined>;
  /** How much of stderr to keep. @defaultValue 200000 */
  maxChars?: number;
  /** Copy the child's stderr to this process's stderr as it comes (debugging). @defaultValue false */
  echo?: boolean;
}

const live = new Set<LetterpressProcess>();
// A test that times out or a runner that is interrupted must not leave workers behind.
process.on('exit', () => {
  for (const started of live) started.child.kill('SIGKILL');
});

/** Environment variables a child inherits from this process; everything else comes from the caller. */
function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'NODE_OPTIONS', 'NODE_PATH'];
  return Object.fromEntries(keep.flatMap((name) => (process.env[name] ? [[name, process.env[name] as string]] : [])));
}

/** Spawns `node bin/letterpress.js <args>` with the given environment. */
export function spawnLetterpress(args: string[], options: SpawnOptions): LetterpressProcess {
  const maxChars = options.maxChars ?? 200_000;
  const env: Record<string, string> = { ...baseEnv() };
  for (const [name, value] of Object.entries(options.env)) if (value !== undefined) env[name] = value;
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/letterpress.js'), ...args], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    if (options.echo) process.stderr.write(chunk);
    err += chunk;
    if (err.length > maxChars * 2) err = err.slice(-maxChars);
  });
  let hasExited = false;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      hasExited = true;
      live.delete(handle);
      resolve({ code, signal });
    });
    child.once('error', () => {
      hasExited = true;
      live.delete(handle);
      resolve({ code: null, signal: null });
    });
  });
  const handle: LetterpressProcess = {
    pid: child.pid ?? -1,
    args,
    child,
    exited,
    isRunning: () => !hasExited,
    kill: (signal) => {
      if (!hasExited) child.kill(signal);
    },
    stop: async (signal = 'SIGTERM', graceMs = 30_000) => {
      if (hasExited) return { ...(await exited), forced: false };
      child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), graceMs);
      });
      const first = await Promise.race([exited, timedOut]);
      clearTimeout(timer);
      if (first !== 'timeout') return { ...first, forced: false };
      child.kill('SIGKILL');
      return { ...(await exited), forced: true };
    },
    stdout: () => out,
    stderr: () => err.slice(-maxChars),
  };
  live.add(handle);
  return handle;
}

/** Spawns `letterpress worker` (every worker kind unless `args` narrows it). */
export function spawnWorker(options: SpawnOptions, args: string[] = []): LetterpressProcess {
  return spawnLetterpress(['worker', ...args], options);
}

/** Waits up to `timeoutMs` for the process to exit on its own; undefined when it still runs. */
export async function waitForExit(started: LetterpressProcess, timeoutMs: number): Promise<ProcessExit | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  const result = await Promise.race([started.exited, timedOut]);
  clearTimeout(timer);
  return result;
}

/** Kills (SIGKILL) every `letterpress` process this module started that still runs, and waits for them. */
export async function killAllStarted(): Promise<void> {
  const running = [...live];
  for (const started of running) started.kill('SIGKILL');
  await Promise.all(running.map((started) => started.exited));
}
