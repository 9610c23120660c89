/**
 * The benchmark's SMTP sink: an smtp-server that accepts every message, keeps only counts and a 1 ms histogram of
 * acceptance times, and answers a tiny HTTP control channel. Run as its own process
 * (`node bin/run-ts.js bench/sink.ts`) so its CPU is not charged to the workers; it prints one JSON line
 * `{"smtpPort":..,"controlPort":..}` on stdout when ready.
 *
 * Control channel (127.0.0.1 only):
 * - `POST /phase?t0=<epoch ms>` starts a new phase: counters cleared, latencies measured from t0.
 * - `GET /count` returns `{ accepted }` (cheap, for polling).
 * - `GET /rate-windows?target=<per second>` returns the phase's acceptances per 1-second window against the target.
 * - `GET /summary` returns the phase's {@link SinkSummary}.
 * - `GET /sample?index=i` returns the i-th message accepted in the phase (0 to 4: the first five are kept), raw.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { SMTPServer } from 'smtp-server';
import { summarizeAcceptances, summarizeRateWindows, type AcceptanceSummary } from './summarize-acceptances.js';

/** Everything the sink knows about one phase. */
export interface SinkSummary extends AcceptanceSummary {
  /** Message bytes received (after SMTP dot-unstuffing). */
  bytes: number;
  /** Average size of an accepted message, in bytes. */
  averageMessageBytes: number;
  /** Recipients of the form `reader<N>@...` accepted more than once in this phase. */
  duplicates: number;
  /** Distinct `reader<N>@...` recipients accepted in this phase. */
  distinctRecipients: number;
  /** Epoch ms the phase was measured from. */
  t0: number;
}

/** A running counting sink. */
export interface CountingSink {
  smtpPort: number;
  controlPort: number;
  close(): Promise<void>;
}

const RECIPIENT_INDEX = /^reader(\d+)@/i;

/** Messages of a phase kept whole (the first ones), for checks such as DKIM verification. */
export const SAMPLE_LIMIT = 5;

class Phase {
  t0 = Date.now();
  accepted = 0;
  bytes = 0;
  duplicates = 0;
  distinct = 0;
  histogram = new Uint32Array(60_000);
  used = 0;
  seen = new Uint8Array(1 << 17);
  samples: Buffer[] = [];
  /** Messages being received that will be kept (so no more than SAMPLE_LIMIT are). */
  keeping = 0;

  record(recipients: string[], bytes: number, firstChunks: Buffer[] | undefined): void {
    const offset = Math.max(0, Date.now() - this.t0);
    if (offset >= this.histogram.length) {
      let size = this.histogram.length * 2;
      while (size <= offset) size *= 2;
      const grown = new Uint32Array(size);
      grown.set(this.histogram);
      this.histogram = grown;
    }
    this.histogram[offset] = (this.histogram[offset] ?? 0) + 1;
    if (offset + 1 > this.used) this.used = offset + 1;
    this.accepted += 1;
    this.bytes += bytes;
    if (firstChunks && this.samples.length < SAMPLE_LIMIT) this.samples.push(Buffer.concat(firstChunks));
    for (const address of recipients) {
      const match = RECIPIENT_INDEX.exec(address);
      if (!match) continue;
      const index = Number(match[1]);
      const byte = index >>> 3;
      if (byte >= this.seen.length) {
        let size = this.seen.length * 2;
        while (size <= byte) size *= 2;
        const grown = new Uint8Array(size);
        grown.set(this.seen);
        this.seen = grown;
      }
      const bit = 1 << (index & 7);
      if ((this.seen[byte] ?? 0) & bit) this.duplicates += 1;
      else {
        this.seen[byte] = (this.seen[byte] ?? 0) | bit;
        this.distinct += 1;
      }
    }
  }

  summary(): SinkSummary {
    return {
      ...summarizeAcceptances(this.histogram, this.used),
      bytes: this.bytes,
      averageMessageBytes: this.accepted === 0 ? 0 : Math.round(this.bytes / this.accepted),
      duplicates: this.duplicates,
      distinctRecipients: this.distinct,
      t0: this.t0,
    };
  }
}

/** Starts the counting sink: SMTP on `smtpPort` (0 = any free port), control HTTP on any free loopback port. */
export async function startCountingSink(options: { smtpPort?: number } = {}): Promise<CountingSink> {
  let phase = new Phase();
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    size: 50 * 1024 * 1024,
    // Pools on the other side keep connections open for the whole run.
    socketTimeout: 10 * 60_000,
    onData(stream, session, callback) {
      const current = phase;
      let bytes = 0;
      const keep: Buffer[] | undefined = current.keeping < SAMPLE_LIMIT ? [] : undefined;
      if (keep) current.keeping += 1;
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        keep?.push(chunk);
      });
      stream.on('end', () => {
        if (current === phase) {
          current.record(
            session.envelope.rcptTo.map((r) => r.address),
            bytes,
            keep,
          );
        }
        callback();
      });
    },
  });
  smtp.on('error', () => {});
  await new Promise<void>((resolve) => smtp.listen(options.smtpPort ?? 0, '127.0.0.1', resolve));
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  const control: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://sink');
    const json = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.method === 'POST' && url.pathname === '/phase') {
      const t0 = Number(url.searchParams.get('t0') ?? Date.now());
      if (!Number.isFinite(t0)) return json(400, { error: 't0 must be epoch milliseconds' });
      phase = new Phase();
      phase.t0 = t0;
      return json(200, { t0 });
    }
    if (request.method === 'GET' && url.pathname === '/rate-windows') {
      const target = Number(url.searchParams.get('target'));
      if (!(target > 0)) return json(400, { error: 'target must be a positive number of messages per second' });
      return json(200, summarizeRateWindows(phase.histogram, target, phase.used));
    }
    if (request.method === 'GET' && url.pathname === '/count') return json(200, { accepted: phase.accepted });
    if (request.method === 'GET' && url.pathname === '/summary') return json(200, phase.summary());
    if (request.method === 'GET' && url.pathname === '/sample') {
      const sample = phase.samples[Number(url.searchParams.get('index') ?? 0)];
      if (!sample) return json(404, { error: 'no such message accepted in this phase yet' });
      response.writeHead(200, { 'content-type': 'message/rfc822' });
      response.end(sample);
      return;
    }
    json(404, { error: 'unknown route' });
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
  const controlPort = (control.address() as AddressInfo).port;

  return {
    smtpPort,
    controlPort,
    close: async () => {
      await new Promise<void>((resolve) => control.close(() => resolve()));
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    },
  };
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const sink = await startCountingSink();
  process.stdout.write(`${JSON.stringify({ smtpPort: sink.smtpPort, controlPort: sink.controlPort })}\n`);
  const shutdown = () => {
    void sink.close().finally(() => process.exit(0));
    // smtp-server waits for open sessions; do not let a pooled client hold the sink open.
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
