/**
 * How the benchmark drives its sender processes: the child prints `{"event":"ready"}` once loaded, starts work on a
 * `go` line on stdin, prints `{"event":"done"}` when finished and exits when stdin closes. Start-up and shut-down CPU
 * therefore stay outside the measured interval.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { repoRoot } from './sink-process.js';

/** The parent's handle on one sender process. */
export interface BenchChild {
  pid: number;
  /** Resolves when the child printed ready. */
  ready: Promise<void>;
  /** Tells the child to start. */
  go(): void;
  /** Resolves when the child printed done. */
  done: Promise<void>;
  /** Closes stdin (the child exits) and waits for the exit, killing it if it lingers. */
  release(): Promise<void>;
  child: ChildProcess;
}

/** Spawns `node bin/run-ts.js <entry> ...args` with the protocol above. Rejects `ready`/`done` if the child dies. */
export function spawnBenchChild(entry: string, args: string[], env: NodeJS.ProcessEnv = process.env): BenchChild {
  const child = spawn(process.execPath, ['bin/run-ts.js', entry, ...args], {
    cwd: repoRoot,
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let resolveReady!: () => void;
  let resolveDone!: () => void;
  let rejectAll!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectAll = reject;
  });
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    const previous = rejectAll;
    rejectAll = (error) => {
      previous(error);
      reject(error);
    };
  });
  // Avoid unhandled rejections when only one of the two is awaited.
  ready.catch(() => {});
  done.catch(() => {});
  let isDone = false;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === '{"event":"ready"}') resolveReady();
    if (line === '{"event":"done"}') {
      isDone = true;
      resolveDone();
    }
  });
  child.once('exit', (code, signal) => {
    if (!isDone) rejectAll(new Error(`${entry} exited early (code ${code}, signal ${signal})`));
  });
  return {
    pid: child.pid ?? 0,
    ready,
    go: () => child.stdin?.write('go\n'),
    done,
    release: async () => {
      child.stdin?.end();
      const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      });
      const timer = setTimeout(() => void stopChild(child), 10_000);
      await exited;
      clearTimeout(timer);
    },
    child,
  };
}

/** Child side: prints ready, waits for `go`, runs the work, prints done, then waits for stdin to close and exits. */
export async function runAsBenchChild(
  work: () => Promise<void>,
  cleanup: () => Promise<void> = async () => {},
): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  const go = new Promise<boolean>((resolve) => lines.on('line', (line) => line.trim() === 'go' && resolve(true)));
  const closed = new Promise<boolean>((resolve) => lines.once('close', () => resolve(false)));
  process.stdout.write('{"event":"ready"}\n');
  if (await Promise.race([go, closed])) {
    await work();
    process.stdout.write('{"event":"done"}\n');
    await closed;
  }
  await cleanup();
  process.exit(0);
}

/** Child side for queue workers: prints ready, serves until stdin closes, cleans up and exits. */
export async function serveAsBenchChild(cleanup: () => Promise<void>): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  const closed = new Promise<void>((resolve) => lines.once('close', () => resolve()));
  lines.on('line', () => {});
  process.stdout.write('{"event":"ready"}\n');
  await closed;
  await cleanup();
  process.exit(0);
}

/** Sends SIGTERM to a child we started and waits for it to exit (SIGKILL after 5 s). */
export async function stopChild(child: ChildProcess, timeoutMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
