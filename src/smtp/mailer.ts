/** What every mailer offers: the send path hands it a pre-built message and reads the relay's answer. */

/** What the relay said about an accepted message. */
export interface SendResult {
  response: string;
  accepted: string[];
  rejected: string[];
}

/**
 * Sends one pre-built raw message; throws on refusal or transport failure (the error is classified). `chunks`, when
 * given, are the same bytes as `raw` in pieces, for a mailer that can write them without joining.
 */
export interface Mailer {
  send(message: {
    envelope: { from: string; to: string };
    raw: Buffer;
    chunks?: readonly Buffer[];
  }): Promise<SendResult>;
}

/** A mailer that can be closed (the pool's connections). */
export interface ClosableMailer extends Mailer {
  close(): Promise<void>;
}
