/**
 * Importing readers from a CSV file of any size: streamed through csv-parse, validated row by row, written in
 * pipelined chunks. The header must hold `email`; `name` and `newsletters` (`;`-separated ids) are optional. A row
 * that is not good enough is rejected whole with its line and the reason (bad address, unknown newsletter, duplicate,
 * suppressed, previously unsubscribed, malformed CSV) and nothing of it is stored. Confirmed imports become active at
 * once; the others stay pending and get a confirmation email, as a sign-up from the form would.
 */
import type { Readable } from 'node:stream';
import { parse, type CsvError } from 'csv-parse';
import type { Newsletter } from '../config.js';
import { AppError } from '../errors.js';
import type {
  AddSubscriberInput,
  AddSubscriberResult,
  NewReader,
  NewReaderOutcome,
  SubscriptionRequest,
} from './subscriber-store.js';
import { normaliseEmail } from './subscriber.js';
import { createSeenAddresses } from './seen-addresses.js';
import { EmailSchema, SubscriberNameSchema, type Subscriber } from './subscriber.js';

/** What importing needs. */
export interface ImportSubscribersDeps {
  subscribers: {
    readStates(emails: string[]): Promise<{
      records: Map<string, Pick<Subscriber, 'id' | 'status' | 'newsletters' | 'left'>>;
      suppressed: Set<string>;
      suppressionFields: Map<string, string>;
    }>;
    addNewMany(
      readers: NewReader[],
      status: 'active' | 'pending',
    ): Promise<{ outcomes: NewReaderOutcome[]; requestedAt: string }>;
    addMany(inputs: AddSubscriberInput[]): Promise<{ results: AddSubscriberResult[] }>;
    requestSubscription(input: {
      email: string;
      newsletterIds: string[];
      isConfirmationSent: boolean;
      name?: string;
    }): Promise<SubscriptionRequest>;
  };
  newsletters: readonly Newsletter[];
  /** Queues the confirmation emails of pending imports. */
  enqueueConfirmations(jobs: { subscriberId: number; requestedAt: string }[]): Promise<void>;
}

/** How to import. */
export interface ImportSubscribersOptions {
  /** Newsletters of rows without a `newsletters` value. @defaultValue every configured newsletter */
  newsletterIds?: string[];
  /** The readers opted in elsewhere: make them active now, with no confirmation email. @defaultValue false */
  isConfirmed?: boolean;
  /** Rows written per round of pipelined commands. @defaultValue 1000 */
  chunkSize?: number;
  /** Called for each rejected row, with its line in the file (the header is line 1). */
  onReject(line: number, reason: string): void | Promise<void>;
  /** Called after each chunk with the bytes of the file and the rows read so far. */
  onProgress?(bytesRead: number, rowsRead: number): void;
}

/** What an import did. */
export interface ImportSubscribersResult {
  /** Rows whose reader is now stored as asked (new, or an existing reader given these newsletters). */
  imported: number;
  /** Of those, readers that did not exist before. */
  created: number;
  rejected: number;
  /** Confirmation emails queued (imports without `isConfirmed`). */
  confirmationsQueued: number;
}

/** A row that passed validation, with its line. */
interface GoodRow {
  line: number;
  email: string;
  address: string;
  name?: string;
  newsletterIds: string[];
}

/** Largest CSV record accepted, in characters. */
const MAX_RECORD_CHARACTERS = 64 * 1024;

/** Imports the CSV stream (see the module comment). Throws `input_invalid` when the header has no `email` column. */
export async function importSubscribers(
  deps: ImportSubscribersDeps,
  source: Readable,
  options: ImportSubscribersOptions,
): Promise<ImportSubscribersResult> {
  const result: ImportSubscribersResult = { imported: 0, created: 0, rejected: 0, confirmationsQueued: 0 };
  const known = new Set(deps.newsletters.map((n) => n.id));
  const defaults = options.newsletterIds ?? deps.newsletters.map((n) => n.id);
  const seen = createSeenAddresses();
  // Rejections of the rows read since the last chunk was written, reported in line order when it is.
  const rejections: { line: number; reason: string }[] = [];
  const reject = async (line: number, reason: string) => {
    rejections.push({ line, reason });
  };

  // Rows csv-parse skipped as malformed, with their raw text and how many rows it had passed on before them.
  const skipped: { afterRecords: number; raw: string; reason: string }[] = [];
  const parser = parse({
    bom: true,
    skip_empty_lines: true,
    max_record_size: MAX_RECORD_CHARACTERS,
    skip_records_with_error: true,
    // Each row's raw text gives its line numbers; `info: true` or `on_record` would copy the parser's state per row,
    // which tripled the cost of parsing.
    raw: true,
    on_skip: (error: CsvError | undefined, raw: string | undefined) => {
      const reason = `malformed CSV: ${(error?.message ?? 'unreadable row').replace(/ (on|at) line \d+/, '')}`;
      skipped.push({ afterRecords: parser.info.records, raw: raw ?? '', reason });
      return undefined;
    },
  });
  source.pipe(parser);
  source.on('error', (error) => parser.destroy(error));

  let chunk: GoodRow[] = [];
  // One chunk is written while the next is read and checked, so Redis and this process work at the same time. The
  // rejections gathered until the previous chunk is written all come before the next one's, and go out sorted.
  let writing: Promise<void> = Promise.resolve();
  const flush = async (isLast = false) => {
    await writing;
    for (const bad of rejections.splice(0).sort((a, b) => a.line - b.line)) {
      result.rejected += 1;
      await options.onReject(bad.line, bad.reason);
    }
    options.onProgress?.(parser.info.bytes, parser.info.records);
    const rows = chunk;
    chunk = [];
    writing = rows.length > 0 ? importChunk(deps, rows, options, result, reject) : Promise.resolve();
    // Its failure surfaces at the next flush; until then it must not count as unhandled.
    writing.catch(() => undefined);
    if (isLast) await flush();
  };
  const lines = createLineCounter();
  let columns: ColumnIndexes | undefined;
  let consumed = 0;
  const takeSkipped = (upTo: number) => {
    while (skipped.length > 0 && (skipped[0]?.afterRecords ?? 0) <= upTo) {
      const skip = skipped.shift() as { raw: string; reason: string };
      rejections.push({ line: lines.next(skip.raw), reason: skip.reason });
    }
  };
  for await (const { record, raw } of parser as AsyncIterable<{ record: string[]; raw: string }>) {
    takeSkipped(consumed);
    consumed += 1;
    const line = lines.next(raw);
    if (!columns) {
      columns = readHeader(record);
      continue;
    }
    const checked = checkRow(record, columns, line, known, defaults);
    if (typeof checked === 'string') {
      await reject(line, checked);
    } else if (!seen.add(checked.address)) {
      await reject(line, 'duplicate: the address is on an earlier line');
    } else {
      chunk.push(checked);
      if (chunk.length >= (options.chunkSize ?? 1000)) await flush();
    }
  }
  takeSkipped(Number.POSITIVE_INFINITY);
  if (!columns) throw new AppError('input_invalid', 'the CSV file is empty: it needs a header with an email column');
  await flush(true);
  return result;
}

/** Where the columns we read are in each row. */
interface ColumnIndexes {
  email: number;
  name: number;
  newsletters: number;
}

/** The header's columns (names trimmed, any case); it must hold `email`. */
function readHeader(header: string[]): ColumnIndexes {
  const names = header.map((name) => name.trim().toLowerCase());
  if (!names.includes('email')) {
    throw new AppError(
      'input_invalid',
      `the CSV header must hold an email column (found: ${names.join(', ') || 'nothing'})`,
    );
  }
  return { email: names.indexOf('email'), name: names.indexOf('name'), newsletters: names.indexOf('newsletters') };
}

/**
 * Line numbers from the rows' raw text (kept rows and skipped ones alike, in file order): a row starts on the line
 * after the previous one ended, plus any blank lines before it. csv-parse keeps a row's own delimiter in its raw text
 * as `\n` or, for CRLF files, `\r`; a line break inside a quoted cell stays as written.
 */
function createLineCounter() {
  let ended = 0;
  return {
    next(raw: string): number {
      let leading = 0;
      while (leading < raw.length && (raw[leading] === '\r' || raw[leading] === '\n')) leading += 1;
      const start = ended + 1 + countLineBreaks(raw.slice(0, leading));
      ended += countLineBreaks(raw);
      return start;
    },
  };
}

/** Line breaks in a text: CRLF, LF or a lone CR each count once. */
function countLineBreaks(text: string): number {
  let count = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 10) count += 1;
    else if (code === 13) {
      count += 1;
      if (text.charCodeAt(index + 1) === 10) index += 1;
    }
  }
  return count;
}

/** A valid row, or the reason it is not one. */
function checkRow(
  record: string[],
  columns: ColumnIndexes,
  line: number,
  known: Set<string>,
  defaults: string[],
): GoodRow | string {
  const email = EmailSchema.safeParse(record[columns.email] ?? '');
  if (!email.success) return `bad address: ${email.error.issues[0]?.message ?? 'invalid'}`;
  // A spreadsheet cell may hold line breaks; a name is one line.
  const name = SubscriberNameSchema.safeParse((record[columns.name] ?? '').replace(/[\t\r\n]+/g, ' '));
  if (!name.success) return `bad name: ${name.error.issues[0]?.message ?? 'invalid'}`;
  const listed = (record[columns.newsletters] ?? '')
    .split(';')
    .map((id) => id.trim())
    .filter(Boolean);
  const unknown = listed.filter((id) => !known.has(id));
  if (unknown.length > 0) return `unknown newsletter: ${unknown.join(', ')}`;
  return {
    line,
    email: email.data,
    address: normaliseEmail(email.data),
    name: name.data || undefined,
    newsletterIds: listed.length > 0 ? [...new Set(listed)] : defaults,
  };
}

const SUPPRESSED = 'suppressed: the address bounced or complained';
const DEPARTED = 'previously unsubscribed: the reader left these newsletters';

/**
 * Stores one chunk of valid rows. Suppressed readers and readers who left are rejected; new addresses go in by the
 * bulk path (one script call), known ones one by one through the ordinary add or sign-up request.
 */
async function importChunk(
  deps: ImportSubscribersDeps,
  rows: GoodRow[],
  options: ImportSubscribersOptions,
  result: ImportSubscribersResult,
  reject: (line: number, reason: string) => Promise<void>,
): Promise<void> {
  const states = await deps.subscribers.readStates(rows.map((row) => row.address));
  const fresh: GoodRow[] = [];
  const known: GoodRow[] = [];
  for (const row of rows) {
    const record = states.records.get(row.address);
    if (states.suppressed.has(row.address) || record?.status === 'suppressed') {
      await reject(row.line, SUPPRESSED);
      continue;
    }
    if (!record) {
      fresh.push(row);
      continue;
    }
    // A reader who left a newsletter is not put back on it by an import; only their own opt-in does that.
    const left = record.status === 'unsubscribed' ? row.newsletterIds : record.left;
    const newsletterIds = row.newsletterIds.filter((id) => !left.includes(id));
    if (newsletterIds.length === 0) await reject(row.line, DEPARTED);
    else known.push({ ...row, newsletterIds });
  }
  const status = options.isConfirmed ? 'active' : 'pending';
  const added = await deps.subscribers.addNewMany(
    fresh.map((row) => ({ ...row, suppressionField: states.suppressionFields.get(row.address) })),
    status,
  );
  const jobs: { subscriberId: number; requestedAt: string }[] = [];
  for (const [index, outcome] of added.outcomes.entries()) {
    const row = fresh[index] as GoodRow;
    if (outcome.kind === 'suppressed') {
      await reject(row.line, SUPPRESSED);
    } else if (outcome.kind === 'exists') {
      known.push(row); // stored by someone else since the chunk was read
    } else {
      result.imported += 1;
      result.created += 1;
      if (status === 'pending') jobs.push({ subscriberId: outcome.id, requestedAt: added.requestedAt });
    }
  }
  for (const row of known) {
    if (options.isConfirmed) {
      const [outcome] = (
        await deps.subscribers.addMany([
          { email: row.email, name: row.name, newsletterIds: row.newsletterIds, status: 'active' },
        ])
      ).results;
      if (outcome?.refusal && outcome.subscriber.status !== 'active') {
        await reject(row.line, outcome.refusal === 'suppressed' ? SUPPRESSED : DEPARTED);
        continue;
      }
      result.imported += 1;
      if (outcome?.created) result.created += 1;
      continue;
    }
    const request = await deps.subscribers.requestSubscription({
      email: row.email,
      name: row.name,
      newsletterIds: row.newsletterIds,
      isConfirmationSent: true,
    });
    if (request.outcome === 'suppressed') {
      await reject(row.line, SUPPRESSED);
      continue;
    }
    result.imported += 1;
    if (request.outcome === 'requested' && request.requestedAt) {
      jobs.push({ subscriberId: request.subscriberId, requestedAt: request.requestedAt });
    }
  }
  if (jobs.length > 0) await deps.enqueueConfirmations(jobs);
  result.confirmationsQueued += jobs.length;
}
