/**
 * Structured logging (pino). Loggers are created at the edges and injected; never log an address or a token. Lines
 * are JSON on stderr (stdout is reserved for CLI results); on a terminal they are written human-readable through
 * pino-pretty, loaded only then.
 */
import { createRequire } from 'node:module';
import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

const require = createRequire(import.meta.url);

/** Field paths pino replaces with `[redacted]` wherever a caller passed them by mistake. */
const REDACTED_PATHS = ['email', 'to', 'token', 'authorization', '*.email', '*.token', '*.authorization'];

/** Where the lines go: JSON on stderr, or pino-pretty's colourful lines when stderr is a terminal. */
function destination(isTerminal: boolean): DestinationStream {
  if (!isTerminal) return pino.destination(2);
  // Synchronous and in this thread (no transport worker): what a person watching a terminal wants.
  const pretty = require('pino-pretty') as (options: Record<string, unknown>) => DestinationStream;
  return pretty({
    destination: 2,
    sync: true,
    colorize: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  });
}

/**
 * Creates the process logger on stderr, or on the given destination (tests read what would have been written).
 */
export function createLogger(
  level: string,
  name = 'letterpress',
  options: { isTerminal?: boolean; destination?: DestinationStream } = {},
): Logger {
  return pino(
    { name, level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    // The file descriptor, not process.stderr: `letterpress worker` logs from a worker thread, whose stderr is a pipe.
    options.destination ?? destination(options.isTerminal ?? isatty(2)),
  );
}

/** A logger that drops everything, for tests and quiet commands. */
export const silentLogger: Logger = pino({ level: 'silent' });
