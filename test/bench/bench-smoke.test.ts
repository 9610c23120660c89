import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../bench/bench-report.js';

const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const SUBSCRIBERS = 300;

/** Runs `npm run bench` (through the same entry) with the given flags; resolves with stdout, stderr and exit code. */
function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['bin/run-ts.js', 'bench/run-bench.ts', ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

describe('npm run bench (smoke run, no timing asserted)', () => {
  let out: string | undefined;
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('sends a small digest through the real path and both baselines and prints one JSON document with every figure', async () => {
    out = await mkdtemp(join(tmpdir(), 'lp-bench-smoke-'));
    const result = await runBench([
      '--subscribers',
      String(SUBSCRIBERS),
      '--workers',
      '2',
      '--connections',
      '4',
      '--baseline-messages',
      '40',
      '--tutorial-messages',
      '6',
      '--json',
      '--skip-build',
      '--cli-runs',
      '1',
      '--out',
      out,
    ]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as BenchReport;

    // The sink received exactly one message per subscriber, none twice, and the ledger agrees.
    expect(report.ours.messages).toBe(SUBSCRIBERS);
    expect(report.ours.duplicates).toBe(0);
    expect(report.ours.ledger).toMatchObject({
      status: 'sent',
      recipients: SUBSCRIBERS,
      delivered: SUBSCRIBERS,
      failed: 0,
      skipped: 0,
    });
    expect(report.baselines.bareNodemailer?.messages).toBe(40);
    expect(report.baselines.tutorialPipeline?.messages).toBe(6);

    // Every figure is present and a finite number.
    for (const run of [report.ours, report.baselines.bareNodemailer!, report.baselines.tutorialPipeline!]) {
      for (const value of [
        run.deliveriesPerSecond,
        run.endToEndPerSecond,
        run.latencyMs.p50,
        run.latencyMs.p99,
        run.cpuPerMessageMs,
        run.senderRssPeakBytes,
        run.messageBytes,
      ]) {
        expect(Number.isFinite(value)).toBe(true);
      }
      expect(run.messageBytes).toBeGreaterThan(1000);
    }
    for (const value of [
      report.ours.fanOutMs,
      report.ours.redis.usedMemoryPeakBytes,
      report.ours.redis.bytesPerPendingRecipient,
    ]) {
      expect(Number.isFinite(value)).toBe(true);
    }
    expect(typeof report.ratios.vsBareNodemailer).toBe('number');
    expect(typeof report.ratios.vsTutorialPipeline).toBe('number');
    expect(report.targets.map((t) => t.name)).toContain('CPU per message (workers + Redis)');
    // How fast a command starts, against Node alone in the same run (no timing asserted).
    expect(report.startup?.code).toMatch(/^(dist|sources)$/);
    for (const value of [report.startup?.nodeBaselineMs, report.startup?.versionMs, report.startup?.healthWorkerMs]) {
      expect(value).toBeGreaterThan(0);
    }
    expect(report.targets.map((t) => t.name)).toContainEqual(
      expect.stringMatching(/^CLI start, `letterpress --version`/),
    );

    // The same document and the Markdown table were written to --out.
    const written = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as BenchReport;
    expect(written.ours.messages).toBe(SUBSCRIBERS);
    const table = await readFile(join(out, 'latest.md'), 'utf8');
    expect(table).toContain('| deliveries/s (median, steady part) |');
    expect(table).toContain('bare nodemailer loop');
  }, 240_000);

  it('refuses an unknown flag with a usage message and exit code 2', async () => {
    const result = await runBench(['--subscriber', '10']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('usage: npm run bench');
  });
});
