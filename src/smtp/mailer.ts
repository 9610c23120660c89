/** What every mailer offers: the send path hands it a pre-built message and reads the relay's answer. */

/** What the relay said about an accepted message. */
export interface SendResult {
  response: string;
  accepted: string[];
  rejected: string[];
}

/** A pre-built message as a mailer receives it. */
export interface OutgoingMessage {
  envelope: { from: string; to: string };
  raw: Buffer;
  /** The same bytes as `raw` in pieces, for a mailer that can write them without joining. */
  chunks?: readonly Buffer[];
  /**
   * SHA-256 of the body in DKIM's relaxed canonical form, when the composer can compute it more cheaply than a
   * signer reading the bytes (a getter: only a signing mailer reads it). A signer without it hashes the body itself.
   */
  readonly relaxedBodyHash?: Buffer;
}

/** Sends one pre-built raw message; throws on refusal or transport failure (the error is classified). */
export interface Mailer {
  send(message: OutgoingMessage): Promise<SendResult>;
}

/** A mailer that can be closed (the pool's connections). */
export interface ClosableMailer extends Mailer {
  close(): Promise<void>;
}
