/**
 * How fast a `letterpress` command starts, measured as a person or a container healthcheck meets it: wall time from
 * spawning the process to its exit. Three commands, interleaved run by run so that the machine's load falls on each
 * alike: `node -e ""` (the baseline: Node alone), `letterpress --version` (Node plus the CLI's own modules), and
 * `letterpress health --worker` (that, plus the configuration and a Redis round trip; what docker-compose runs).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { median } from './summarize-acceptances.js';
import { repoRoot } from './sink-process.js';

/** Medians of each command's wall time, in milliseconds, and which code `bin/letterpress.js` ran. */
export interface CliStartFigures {
  runs: number;
  code: 'dist' | 'sources';
  nodeBaselineMs: number;
  versionMs: number;
  healthWorkerMs: number;
}

function timeCommand(args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: 'ignore',
    });
    child.once('error', reject);
    child.once('exit', () => resolve(performance.now() - started));
  });
}

/** Runs each command `runs` times (after one warm-up round) against the given environment. */
export async function measureCliStart(
  env: Record<string, string>,
  code: CliStartFigures['code'],
  runs = 7,
): Promise<CliStartFigures> {
  const bin = join(repoRoot, 'bin/letterpress.js');
  const commands = [
    ['-e', ''],
    [bin, '--version'],
    [bin, 'health', '--worker'],
  ];
  const times: number[][] = commands.map(() => []);
  for (let round = 0; round <= runs; round += 1) {
    for (const [index, args] of commands.entries()) {
      const ms = await timeCommand(args, env);
      if (round > 0) times[index]?.push(ms);
    }
  }
  const [baseline = [], version = [], health = []] = times;
  return {
    runs,
    code,
    nodeBaselineMs: median(baseline),
    versionMs: median(version),
    healthWorkerMs: median(health),
  };
}
