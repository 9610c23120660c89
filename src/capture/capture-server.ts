/**
 * The embedded capture server: a real SMTP server (smtp-server) on loopback that writes every accepted message to a
 * folder as `.eml`. The demo and development use it when no SMTP_URL is configured; it never relays anything.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One message the capture server wrote. */
export interface CapturedMessage {
  /** File name inside the capture folder. */
  file: string;
  recipients: string[];
  bytes: number;
}

/** A running capture server. */
export interface CaptureServer {
  /** `smtp://127.0.0.1:PORT`, for SMTP_URL. */
  url: string;
  port: number;
  directory: string;
  /** The most recent messages written (at most 1,000, oldest first), so a long-running worker stays bounded. */
  messages: CapturedMessage[];
  close(): Promise<void>;
}

/** Options of the capture server. */
export interface CaptureServerOptions {
  /** Folder for the `.eml` files; created if missing. */
  directory: string;
  /** Port to listen on. @defaultValue 0 (a free port) */
  port?: number;
  /** Largest message accepted, in bytes. @defaultValue 25 MiB */
  maxBytes?: number;
}

/** Starts the capture server on 127.0.0.1. */
export async function startCaptureServer(options: CaptureServerOptions): Promise<CaptureServer> {
  await mkdir(options.directory, { recursive: true });
  const messages: CapturedMessage[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    banner: 'Letterpress capture server (nothing is relayed)',
    size: options.maxBytes ?? 25 * 1024 * 1024,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const recipients = session.envelope.rcptTo.map((r) => r.address);
        writeNumbered(options.directory, safeFileName(recipients[0] ?? 'unknown'), raw).then(
          (file) => {
            messages.push({ file, recipients, bytes: raw.length });
            if (messages.length > RECENT_MESSAGES) messages.shift();
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  server.on('error', () => {
    // Connection-level errors (a client that hangs up) must not stop the server.
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    directory: options.directory,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const RECENT_MESSAGES = 1_000;
let sequence = 0;

/**
 * Writes `NNNNN-<name>.eml` with the next free number. `wx` never overwrites, so a restarted worker, or two workers
 * sharing the folder, keep every message.
 */
async function writeNumbered(directory: string, name: string, raw: Buffer): Promise<string> {
  for (;;) {
    sequence += 1;
    const file = `${String(sequence).padStart(5, '0')}-${name}.eml`;
    try {
      await writeFile(join(directory, file), raw, { flag: 'wx' });
      return file;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** Turns an address into a readable, filesystem-safe name part. */
function safeFileName(address: string): string {
  return address
    .toLowerCase()
    .replace(/[^a-z0-9@._-]/g, '_')
    .slice(0, 80);
}
