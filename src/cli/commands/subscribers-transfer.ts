/**
 * `subscribers import` and `subscribers export`: readers in and out as CSV, streamed, with a progress bar on a
 * terminal and the rejected rows reported (to stderr, or `--rejects FILE` as `line,reason`).
 */
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { once } from 'node:events';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { SingleBar, Presets } from 'cli-progress';
import { stringify } from 'csv-stringify';
import type { App } from '../../app.js';
import { AppError } from '../../errors.js';
import { importSubscribers, type ImportSubscribersResult } from '../../subscribers/import-subscribers.js';
import { exportSubscribers, type SubscriberFilter } from '../../subscribers/list-subscribers.js';
import type { CommandOutput } from '../command-kit.js';
import { createHeapRelief } from '../heap-relief.js';

/** Rows between full garbage collections in the bulk commands (see heap-relief.ts), each measured to stay under 200 MB. */
const IMPORT_RELIEF_ROWS = 25_000;
const EXPORT_RELIEF_ROWS = 50_000;

/** Opens the import file, with a clear error for a missing or unreadable one. */
function openInput(file: string): { stream: Readable; bytes: number | undefined } {
  if (file === '-') return { stream: process.stdin, bytes: undefined };
  let bytes: number;
  try {
    const stats = statSync(file);
    if (!stats.isFile()) throw new Error('not a file');
    bytes = stats.size;
  } catch (error) {
    throw new AppError('input_invalid', `cannot read ${file}: ${(error as Error).message}`);
  }
  return { stream: createReadStream(file), bytes };
}

/** Where rejected rows go: a `line,reason` CSV file, or readable lines on stderr. */
function openRejects(file: string | undefined, input: string) {
  if (!file) {
    return {
      write: (line: number, reason: string) => void process.stderr.write(`rejected line ${line}: ${reason}\n`),
      close: async () => {},
    };
  }
  if (resolve(file) === resolve(input))
    throw new AppError('input_invalid', '--rejects must not be the file being imported');
  const out = createWriteStream(file);
  const csv = stringify({ header: true, columns: ['line', 'reason'] });
  csv.pipe(out);
  return {
    write: async (line: number, reason: string) => {
      if (!csv.write([line, reason])) await once(csv, 'drain');
    },
    close: async () => {
      csv.end();
      await once(out, 'finish');
    },
  };
}

/** Runs `subscribers import`. */
export async function runImport(
  app: App,
  file: string,
  flags: { newsletterIds?: string[]; isConfirmed: boolean; rejects?: string },
): Promise<CommandOutput> {
  const input = openInput(file);
  const rejects = openRejects(flags.rejects, file);
  const bar =
    process.stderr.isTTY && input.bytes !== undefined
      ? new SingleBar(
          { stream: process.stderr, format: 'importing |{bar}| {percentage}% | {rows} rows read', hideCursor: true },
          Presets.shades_classic,
        )
      : undefined;
  bar?.start(input.bytes ?? 0, 0, { rows: 0 });
  const relieveHeap = createHeapRelief(IMPORT_RELIEF_ROWS);
  let result: ImportSubscribersResult;
  try {
    result = await importSubscribers(
      {
        subscribers: app.subscribers,
        newsletters: app.config.newsletters,
        enqueueConfirmations: (jobs) =>
          app.queues.enqueueMany(
            'transactional',
            jobs.map((job) => ({ kind: 'confirmation' as const, ...job })),
          ),
      },
      input.stream,
      {
        newsletterIds: flags.newsletterIds,
        isConfirmed: flags.isConfirmed,
        onReject: (line, reason) => rejects.write(line, reason),
        onProgress: (bytes, rows) => {
          bar?.update(bytes, { rows });
          relieveHeap(rows);
        },
      },
    );
  } finally {
    bar?.stop();
    await rejects.close();
  }
  const rejected =
    result.rejected > 0
      ? `, rejected ${result.rejected}${flags.rejects ? ` (see ${flags.rejects})` : ' (listed above)'}`
      : '';
  const pending = flags.isConfirmed
    ? ''
    : `; ${result.confirmationsQueued} confirmation email(s) queued, readers stay pending until they confirm`;
  return {
    result: { ...result, ...(flags.rejects ? { rejectsFile: flags.rejects } : {}) },
    text: `imported ${result.imported} (new: ${result.created})${rejected}${pending}`,
    exitCode: result.imported > 0 ? 0 : 1,
  };
}

/** Runs `subscribers export`: to a file, or to stdout (then the summary goes to stderr). */
export async function runExport(
  app: App,
  filter: SubscriberFilter,
  outFile: string | undefined,
): Promise<CommandOutput> {
  const out: Writable = outFile ? createWriteStream(outFile) : process.stdout;
  const rows = await exportSubscribers(
    { subscribers: app.subscribers },
    filter,
    out,
    createHeapRelief(EXPORT_RELIEF_ROWS),
  );
  if (outFile) {
    out.end();
    await once(out, 'finish');
    return { result: { rows, out: outFile }, text: `exported ${rows} reader(s) to ${outFile}` };
  }
  process.stderr.write(`exported ${rows} reader(s)\n`);
  return { result: { rows } };
}
