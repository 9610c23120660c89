/**
 * The import and export benchmark (`npm run bench -- --import 1000000`, or `npm run bench:import -- --rows N`).
 * It writes a CSV of N readers (1% bad rows), then runs the real commands as a user would, each in its own process
 * against a private Redis: `letterpress subscribers import FILE --confirmed --rejects R --json`, then
 * `letterpress subscribers export --out FILE --json`. It measures rows per second (wall time of the command, start-up
 * included) and the process's peak RSS (the kernel's VmHWM). In the same run it measures two baselines on the same
 * Redis: a row-at-a-time import (parse, validate, `add` one reader per round trip, as a naive importer does) and a
 * record-at-a-time export (one HGETALL per reader), each on a sample, and reports ours over theirs.
 */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startPrivateRedis } from '../src/private-redis.js';
import { EmailSchema, SubscriberNameSchema } from '../src/subscribers/subscriber.js';
import { repoRoot } from './sink-process.js';

/** Options of the import benchmark. */
export interface ImportBenchOptions {
  /** Rows in the CSV. */
  rows: number;
  /** Rows the row-at-a-time baselines handle. @defaultValue min(20000, rows) */
  baselineRows?: number;
}

/** One measured command. */
export interface MeasuredCommand {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  peakRssMb: number;
  cpuSeconds: number;
}

/** What the benchmark found. */
export interface ImportBenchReport {
  startedAt: string;
  machine: { cpus: number; loadAverageAtStart: number[] };
  rows: number;
  csvMb: number;
  import: MeasuredCommand & { imported: number; rejected: number };
  export: MeasuredCommand;
  baselines: { importRowAtATime: MeasuredCommand; exportRecordAtATime: MeasuredCommand };
  ratios: { importVsRowAtATime: number; exportVsRecordAtATime: number };
  targets: { name: string; goal: string; measured: string; isMet: boolean }[];
}

/** Writes the benchmark's CSV: `email,name,newsletters`, every hundredth row bad in one of four ways. */
async function writeCsv(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path);
  out.write('email,name,newsletters\n');
  for (let i = 0; i < rows; i += 1) {
    let line: string;
    if (i % 100 === 37) line = `broken-address-${i},Bad Row,daily\n`;
    else line = `reader-${i}@bench.example,Reader ${i},daily\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Reads a process's CPU time (utime + stime, ms) and its peak RSS so far (VmHWM, bytes). */
function readProcess(pid: number): { cpuMs: number; peakRss: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return { cpuMs: (Number(fields[11]) + Number(fields[12])) * 10, peakRss: Number(hwm ?? 0) * 1024 };
  } catch {
    return undefined;
  }
}

/** Runs `letterpress ...args` and measures it; resolves with its JSON result. */
async function measureCommand(
  args: string[],
  env: Record<string, string>,
): Promise<{ json: Record<string, unknown>; seconds: number; peakRssMb: number; cpuSeconds: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, ['bin/letterpress.js', ...args], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const last = { cpuMs: 0, peakRss: 0 };
  const timer = setInterval(() => {
    const sample = child.pid === undefined ? undefined : readProcess(child.pid);
    // A process that has exited but is not yet reaped has no VmHWM line: keep the highest reading seen.
    if (sample && sample.cpuMs >= last.cpuMs) last.cpuMs = sample.cpuMs;
    if (sample && sample.peakRss > last.peakRss) last.peakRss = sample.peakRss;
  }, 50);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearInterval(timer);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`letterpress ${args.join(' ')} exited ${code}: ${stderr.slice(-500)}`);
  return {
    json: JSON.parse(stdout) as Record<string, unknown>,
    seconds,
    peakRssMb: last.peakRss / 1e6,
    cpuSeconds: last.cpuMs / 1000,
  };
}

function measured(rows: number, seconds: number, peakRssMb: number, cpuSeconds: number): MeasuredCommand {
  return { rows, seconds, rowsPerSecond: rows / seconds, peakRssMb, cpuSeconds };
}

/** Runs the benchmark (see the module comment). */
export async function runImportBench(
  options: ImportBenchOptions,
  progress: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<ImportBenchReport> {
  const startedAt = new Date();
  const loadAverageAtStart = loadavg();
  const baselineRows = Math.min(options.baselineRows ?? 20_000, options.rows);
  const redis = await startPrivateRedis({ appendonly: false });
  const temp = await mkdtemp(join(tmpdir(), 'lp-import-bench-'));
  try {
    const csv = join(temp, 'readers.csv');
    progress(`writing ${options.rows} rows to ${csv}`);
    await writeCsv(csv, options.rows);
    const env = { REDIS_URL: redis.url, LETTERPRESS_PREFIX: 'bench', LETTERPRESS_SECRET: 'b'.repeat(40) };

    progress('importing with letterpress subscribers import --confirmed');
    const imported = await measureCommand(
      ['subscribers', 'import', csv, '--confirmed', '--rejects', join(temp, 'rejects.csv'), '--json'],
      env,
    );
    progress('exporting with letterpress subscribers export');
    const exported = await measureCommand(['subscribers', 'export', '--out', join(temp, 'export.csv'), '--json'], env);

    progress(`baselines: ${baselineRows} rows one at a time`);
    const app = await createApp(loadConfig({ ...env, LETTERPRESS_PREFIX: 'baseline' }), {
      logger: createLogger('error', 'letterpress-bench'),
    });
    let importBaseline: MeasuredCommand;
    let exportBaseline: MeasuredCommand;
    try {
      const sample = join(temp, 'sample.csv');
      await writeCsv(sample, baselineRows);
      const before = process.cpuUsage();
      let started = performance.now();
      let added = 0;
      for await (const record of createReadStream(sample).pipe(parse({ columns: true }))) {
        const row = record as Record<string, string>;
        const email = EmailSchema.safeParse(row.email);
        const name = SubscriberNameSchema.safeParse(row.name);
        if (!email.success || !name.success) continue;
        await app.subscribers.add({ email: email.data, name: name.data, newsletterIds: ['daily'], status: 'active' });
        added += 1;
      }
      const afterImport = process.cpuUsage(before);
      importBaseline = measured(
        baselineRows,
        (performance.now() - started) / 1000,
        process.memoryUsage().rss / 1e6,
        (afterImport.user + afterImport.system) / 1e6,
      );
      started = performance.now();
      const out = createWriteStream(join(temp, 'baseline-export.csv'));
      for (let id = 1; id <= added; id += 1) {
        const fields = await app.redis.hgetall(app.keys.subscriber(id));
        out.write(`${id},${fields.email},${fields.name},${fields.status},${fields.newsletters},${fields.createdAt}\n`);
      }
      out.end();
      await once(out, 'finish');
      const afterExport = process.cpuUsage(before);
      exportBaseline = measured(
        added,
        (performance.now() - started) / 1000,
        process.memoryUsage().rss / 1e6,
        (afterExport.user + afterExport.system - afterImport.user - afterImport.system) / 1e6,
      );
    } finally {
      await app.close();
    }

    const importMeasured = {
      ...measured(options.rows, imported.seconds, imported.peakRssMb, imported.cpuSeconds),
      imported: Number(imported.json.imported),
      rejected: Number(imported.json.rejected),
    };
    const exportMeasured = measured(
      Number(exported.json.rows),
      exported.seconds,
      exported.peakRssMb,
      exported.cpuSeconds,
    );
    const fmt = (n: number) => Math.round(n).toLocaleString('en-GB');
    return {
      startedAt: startedAt.toISOString(),
      machine: { cpus: (await import('node:os')).cpus().length, loadAverageAtStart },
      rows: options.rows,
      csvMb: (await stat(csv)).size / 1e6,
      import: importMeasured,
      export: exportMeasured,
      baselines: { importRowAtATime: importBaseline, exportRecordAtATime: exportBaseline },
      ratios: {
        importVsRowAtATime: importMeasured.rowsPerSecond / importBaseline.rowsPerSecond,
        exportVsRecordAtATime: exportMeasured.rowsPerSecond / exportBaseline.rowsPerSecond,
      },
      targets: [
        {
          name: 'import rows/s',
          goal: '>= 20,000',
          measured: fmt(importMeasured.rowsPerSecond),
          isMet: importMeasured.rowsPerSecond >= 20_000,
        },
        {
          name: 'import peak RSS',
          goal: '< 200 MB',
          measured: `${fmt(importMeasured.peakRssMb)} MB`,
          isMet: importMeasured.peakRssMb < 200,
        },
        {
          name: 'export rows/s',
          goal: '>= 50,000',
          measured: fmt(exportMeasured.rowsPerSecond),
          isMet: exportMeasured.rowsPerSecond >= 50_000,
        },
      ],
    };
  } finally {
    await redis.close();
    await rm(temp, { recursive: true, force: true });
  }
}

/** The report as Markdown. */
export function formatImportReport(report: ImportBenchReport): string {
  const fmt = (n: number, digits = 0) =>
    n.toLocaleString('en-GB', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const row = (label: string, m: MeasuredCommand) =>
    `| ${label} | ${fmt(m.rows)} | ${fmt(m.seconds, 1)} s | ${fmt(m.rowsPerSecond)} | ${fmt(m.cpuSeconds, 1)} s | ${fmt(m.peakRssMb)} MB |`;
  return [
    `Import and export of ${fmt(report.rows)} readers (CSV ${fmt(report.csvMb, 1)} MB, 1% bad rows), ${report.machine.cpus} cores, load ${report.machine.loadAverageAtStart.map((n) => n.toFixed(1)).join(' ')} at start:`,
    '',
    '| | rows | wall time | rows/s | CPU | peak RSS |',
    '|---|---:|---:|---:|---:|---:|',
    row('`subscribers import --confirmed` (whole command)', report.import),
    row('baseline: one `add` per row', report.baselines.importRowAtATime),
    row('`subscribers export` (whole command)', report.export),
    row('baseline: one HGETALL per reader', report.baselines.exportRecordAtATime),
    '',
    `Imported ${fmt(report.import.imported)}, rejected ${fmt(report.import.rejected)}. Import is ${fmt(report.ratios.importVsRowAtATime, 1)}x the row-at-a-time baseline; export ${fmt(report.ratios.exportVsRecordAtATime, 1)}x the record-at-a-time one (baselines measured in the benchmark process, RSS theirs).`,
    '',
    '| target | goal | measured | met |',
    '|---|---|---|---|',
    ...report.targets.map((t) => `| ${t.name} | ${t.goal} | ${t.measured} | ${t.isMet ? 'yes' : '**no**'} |`),
  ].join('\n');
}

/** Writes the report as JSON and Markdown into `outDir` (import-latest.*). */
export async function writeImportResults(report: ImportBenchReport, outDir: string): Promise<string[]> {
  const json = join(outDir, 'import-latest.json');
  const markdown = join(outDir, 'import-latest.md');
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(markdown, `${formatImportReport(report)}\n`);
  return [json, markdown];
}
