/** A real SMTP server (smtp-server) that records every accepted message, for tests. */
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { AddressInfo } from 'node:net';

/** One message the sink accepted. */
export interface ReceivedMessage {
  envelopeFrom: string;
  envelopeTo: string[];
  raw: Buffer;
}

/** Options for the recording sink. */
export interface SmtpSinkOptions {
  /** Decide the reply for a recipient: return an Error with `responseCode` to refuse it. */
  onRecipient?: (address: string) => Error | undefined;
  /** Called with each message before it is accepted; throw an Error with `responseCode` to refuse it. */
  onMessage?: (message: ReceivedMessage) => void;
  /** The loopback port to listen on (a relay that comes back where it was). @defaultValue a free port */
  port?: number;
  /** More smtp-server options (AUTH, closeTimeout, ...), applied over the sink's own. @defaultValue none */
  server?: Partial<SMTPServerOptions>;
}

/** Starts a recording SMTP sink on a free loopback port. */
export async function startSmtpSink(options: SmtpSinkOptions = {}) {
  const messages: ReceivedMessage[] = [];
  const serverOptions: SMTPServerOptions = {
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    size: 50 * 1024 * 1024,
    onRcptTo(address, _session, callback) {
      const refusal = options.onRecipient?.(address.address);
      callback(refusal ?? undefined);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const message: ReceivedMessage = {
          envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          envelopeTo: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        };
        try {
          options.onMessage?.(message);
        } catch (error) {
          callback(error as Error);
          return;
        }
        messages.push(message);
        callback();
      });
    },
    ...options.server,
  };
  const server = new SMTPServer(serverOptions);
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Makes an Error that smtp-server turns into the given SMTP reply. */
export function smtpReply(code: number, text: string): Error {
  const error = new Error(text) as Error & { responseCode: number };
  error.responseCode = code;
  return error;
}
