/**
 * `npm run bench`: parses the flags, then runs one benchmark session (see run-bench-session.ts) and prints a
 * Markdown table, or one JSON document with `--json`. Flags are checked before anything heavy is loaded.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chooseEntry } from '../bin/choose-entry.js';
import { isAppError } from '../src/errors.js';
import { benchUsage, parseBenchOptions, type BenchOptions } from './bench-options.js';
import type { RateLimitReport } from './bench-report.js';
import { repoRoot } from './sink-process.js';

async function main(): Promise<number> {
  let options: BenchOptions | 'help';
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n${benchUsage}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${benchUsage}\n`);
    return 0;
  }
  try {
    if (options.import !== undefined) {
      const { formatImportReport, runImportBench, writeImportResults } = await import('./import-bench.js');
      const report = await runImportBench({ rows: options.import });
      const written = await writeImportResults(report, resolve(repoRoot, options.out));
      if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else process.stdout.write(`${formatImportReport(report)}\nwritten: ${written.join(', ')}\n`);
      return 0;
    }
    ensureBuild(options);
    if (options.rateLimit !== undefined) {
      const { runRateLimitBench } = await import('./measure-rate-limit.js');
      const { formatRateLimitReport } = await import('./bench-report.js');
      const report = await runRateLimitBench({
        perSecond: options.rateLimit,
        seconds: options.rateSeconds,
        workers: options.workers,
        connections: options.connections,
        batchSize: options.batchSize,
      });
      const written = await writeRateLimitResults(report, resolve(repoRoot, options.out), formatRateLimitReport);
      if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else process.stdout.write(`${formatRateLimitReport(report)}\nwritten: ${written.join(', ')}\n`);
      return report.isWithinGoal ? 0 : 1;
    }
    const { runBench, writeResults } = await import('./run-bench-session.js');
    const { formatReportMarkdown } = await import('./bench-report.js');
    const report = await runBench(options);
    const written = await writeResults(report, resolve(repoRoot, options.out));
    if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else process.stdout.write(`${formatReportMarkdown(report)}\nwritten: ${written.json}, ${written.markdown}\n`);
    return 0;
  } catch (error) {
    const message = isAppError(error)
      ? error.message
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error);
    process.stderr.write(`bench failed: ${message}\n`);
    if (options.json) process.stdout.write(`${JSON.stringify({ error: { message: (error as Error).message } })}\n`);
    return 1;
  }
}

/** Writes the rate-limit run: rate-<time>.json and rate-latest.md in `outDir`. */
async function writeRateLimitResults(
  report: RateLimitReport,
  outDir: string,
  format: (report: RateLimitReport) => string,
): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const json = join(outDir, `rate-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  const markdown = join(outDir, 'rate-latest.md');
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(markdown, format(report));
  return [json, markdown];
}

/** Builds dist/ when it is missing or stale (unless --skip-build): the benchmark measures what production runs. */
function ensureBuild(options: BenchOptions): void {
  const entry = chooseEntry(repoRoot);
  if (options.skipBuild || entry.kind === 'dist') return;
  process.stderr.write(`building the compiled code first (${entry.reason})\n`);
  const build = spawnSync(process.execPath, [resolve(repoRoot, 'scripts/build.js')], { stdio: ['ignore', 2, 2] });
  if (build.status !== 0)
    throw new Error('npm run build failed (see above); --skip-build measures the sources instead');
}

process.exitCode = await main();
