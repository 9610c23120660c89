/** Structured logging (pino). Loggers are created at the edges and injected; never log an address or a token. */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Creates the process logger writing JSON lines to stderr (stdout is reserved for CLI results), or to the given
 * destination (tests read what would have been written).
 */
export function createLogger(
  level: string,
  name = 'letterpress',
  destination: DestinationStream = pino.destination(2),
): Logger {
  return pino(
    { name, level, redact: { paths: ['email', 'to', 'token', '*.email', '*.token'], censor: '[redacted]' } },
    destination,
  );
}

/** A logger that drops everything, for tests and quiet commands. */
export const silentLogger: Logger = pino({ level: 'silent' });
