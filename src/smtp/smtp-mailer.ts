/**
 * The SMTP edge: a pooled nodemailer transport that sends pre-built raw messages. nodemailer only adds the DKIM
 * signature (when configured) and speaks SMTP; it composes nothing.
 */
import nodemailer from 'nodemailer';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { parseMailbox } from '../mail/compose-mime.js';
import type { ClosableMailer, SendResult } from './mailer.js';
import { createDkimSigningMailer, dkimKeysOf } from './dkim-signing-mailer.js';
import { createRawSmtpMailer, RAW_SMTP_DEFAULTS } from './raw-smtp-mailer.js';
import { checkHeloName, parseRelayUrl } from './relay-url.js';

/** What the nodemailer mailer reads from the config. */
export interface SmtpMailerOptions {
  url: string;
  /** Pooled connections. */
  poolSize: number;
  /** Connecting and the greeting. @defaultValue 30000 */
  connectTimeoutMs?: number;
  /**
   * nodemailer has one inactivity limit for every reply; it gets the final dot's, so it never gives up on a relay's
   * late 250 sooner than the built-in client. @defaultValue 600000
   */
  finalDotTimeoutMs?: number;
  /** @defaultValue 1000 */
  maxMessagesPerConnection?: number;
  /** @defaultValue 30000 */
  idleTimeoutMs?: number;
  /** @defaultValue false */
  allowPlaintextAuth?: boolean;
  /** The EHLO name when the URL has no `?name=`. */
  heloName?: string;
  dkim?: Config['dkim'];
}

/** Creates the pooled transport. Nothing connects until the first send. */
export function createSmtpMailer(options: SmtpMailerOptions): ClosableMailer {
  const target = parseRelayUrl(options.url);
  const transport = nodemailer.createTransport({
    url: options.url,
    pool: true,
    maxConnections: options.poolSize,
    maxMessages: options.maxMessagesPerConnection ?? RAW_SMTP_DEFAULTS.maxMessagesPerConnection,
    idleTimeout: options.idleTimeoutMs ?? RAW_SMTP_DEFAULTS.idleTimeoutMs,
    connectionTimeout: options.connectTimeoutMs ?? RAW_SMTP_DEFAULTS.connectTimeoutMs,
    greetingTimeout: options.connectTimeoutMs ?? RAW_SMTP_DEFAULTS.connectTimeoutMs,
    socketTimeout: options.finalDotTimeoutMs ?? RAW_SMTP_DEFAULTS.finalDotTimeoutMs,
    ...(target.heloName || options.heloName ? { name: target.heloName ?? options.heloName } : {}),
    // The password only over TLS, as the built-in client: STARTTLS becomes a must when there is a password to send.
    ...(target.credentials && !target.isImplicitTls && !options.allowPlaintextAuth ? { requireTLS: true } : {}),
    // nodemailer signs with the main key only (it has no Ed25519).
    ...(options.dkim
      ? {
          dkim: {
            domainName: options.dkim.domainName,
            keySelector: options.dkim.keySelector,
            privateKey: options.dkim.privateKey,
          },
        }
      : {}),
  });
  transport.on('error', () => {});
  return {
    async send(message): Promise<SendResult> {
      const info = await transport.sendMail({ envelope: message.envelope, raw: message.raw });
      return {
        response: info.response,
        accepted: [...info.accepted],
        rejected: [...info.rejected],
      };
    },
    async close() {
      transport.close();
    },
  };
}

/** How the relay probe opens its session: as the mailer does (EHLO name, password rule), within `timeoutMs` a step. */
export function relayProbeOptions(config: Pick<Config, 'smtp' | 'site'>, timeoutMs: number) {
  return { timeoutMs, heloName: defaultHeloName(config.site), allowPlaintextAuth: config.smtp.allowPlaintextAuth };
}

/**
 * The EHLO name when SMTP_URL has no `?name=`: the domain of the site's sender (a bare host name does not count; the
 * session then names itself by its address literal).
 */
export function defaultHeloName(site: Pick<Config['site'], 'from'>): string | undefined {
  try {
    const { address } = parseMailbox(site.from, 'from');
    return checkHeloName(address.slice(address.lastIndexOf('@') + 1));
  } catch {
    return undefined;
  }
}

/**
 * Creates the mailer from the config; refuses when no relay is configured. Unless SMTP_MAILER is `nodemailer`, the
 * pre-built messages go out through the raw SMTP client (profiling showed nodemailer's per-byte JavaScript, dot-stuffing
 * and stream plumbing, was most of the CPU per message), signed by `createDkimSigningMailer` when a DKIM key is
 * configured. SMTP_MAILER=nodemailer keeps nodemailer for every message (it signs with the main key only), as an
 * escape hatch for an unusual relay.
 */
export function createMailerFromConfig(config: Pick<Config, 'smtp' | 'dkim' | 'site'>): ClosableMailer {
  const { smtp } = config;
  if (!smtp.url) {
    throw new AppError(
      'config_invalid',
      'SMTP_URL is not set: configure a relay (or run `letterpress worker`, which starts the capture server in development)',
    );
  }
  const shared = {
    url: smtp.url,
    poolSize: smtp.poolSize,
    connectTimeoutMs: smtp.connectTimeoutMs,
    finalDotTimeoutMs: smtp.finalDotTimeoutMs,
    maxMessagesPerConnection: smtp.maxMessagesPerConnection,
    idleTimeoutMs: smtp.idleTimeoutMs,
    allowPlaintextAuth: smtp.allowPlaintextAuth,
    heloName: defaultHeloName(config.site),
  };
  if (smtp.mailer !== 'nodemailer') {
    const raw = createRawSmtpMailer({ ...shared, commandTimeoutMs: smtp.commandTimeoutMs });
    return config.dkim ? createDkimSigningMailer(raw, { keys: dkimKeysOf(config.dkim) }) : raw;
  }
  return createSmtpMailer({ ...shared, dkim: config.dkim });
}
