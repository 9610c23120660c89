/**
 * The built-in client's DKIM signer: wraps a mailer so every message it sends (digests, test sends, confirmations,
 * welcome messages: everything goes through the app's one mailer) carries a DKIM-Signature per configured key, on top
 * of the message as composed. The body hash comes from the composer when it has one (cheap: the shared part of a
 * digest is hashed once), otherwise from the bytes.
 */
import { createPrivateKey } from 'node:crypto';
import type { Config } from '../config.js';
import { signMessageChunks, type DkimKey } from '../mail/sign-dkim.js';
import type { ClosableMailer, OutgoingMessage } from './mailer.js';

/** Options of `createDkimSigningMailer`. */
export interface DkimSigningOptions {
  /** One signature each, top of the message first (an RSA key first keeps the widely checked signature on top). */
  keys: readonly DkimKey[];
  /** The signature time (`t=`). @defaultValue the system clock */
  clock?: () => Date;
}

/** Wraps `mailer` so every message is signed first (see the module comment). */
export function createDkimSigningMailer(mailer: ClosableMailer, options: DkimSigningOptions): ClosableMailer {
  const clock = options.clock ?? (() => new Date());
  return {
    async send(message: OutgoingMessage) {
      const chunks = await signMessageChunks(
        message.chunks ?? [message.raw],
        options.keys,
        clock(),
        message.relaxedBodyHash,
      );
      let joined: Buffer | undefined;
      return mailer.send({
        envelope: message.envelope,
        chunks,
        get raw() {
          joined ??= Buffer.concat(chunks);
          return joined;
        },
      });
    },
    close: () => mailer.close(),
  };
}

/** The keys a DKIM config signs with, parsed once: the main key (RSA, or Ed25519), then the optional Ed25519 key. */
export function dkimKeysOf(dkim: NonNullable<Config['dkim']>): DkimKey[] {
  const keys: DkimKey[] = [
    { domain: dkim.domainName, selector: dkim.keySelector, privateKey: createPrivateKey(dkim.privateKey) },
  ];
  if (dkim.ed25519) {
    keys.push({
      domain: dkim.domainName,
      selector: dkim.ed25519.keySelector,
      privateKey: createPrivateKey(dkim.ed25519.privateKey),
    });
  }
  return keys;
}
