/**
 * The SMTP edge: a pooled nodemailer transport that sends pre-built raw messages. nodemailer only adds the DKIM
 * signature (when configured) and speaks SMTP; it composes nothing.
 */
import nodemailer from 'nodemailer';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { ClosableMailer, SendResult } from './mailer.js';
import { createRawSmtpMailer } from './raw-smtp-mailer.js';

/** What the mailer reads from the config. */
export interface SmtpMailerOptions {
  url: string;
  /** Pooled connections. */
  poolSize: number;
  /** Timeout for connecting, the greeting and any reply. */
  timeoutMs: number;
  dkim?: Config['dkim'];
}

/** Creates the pooled transport. Nothing connects until the first send. */
export function createSmtpMailer(options: SmtpMailerOptions): ClosableMailer {
  const transport = nodemailer.createTransport({
    url: options.url,
    pool: true,
    maxConnections: options.poolSize,
    maxMessages: Number.POSITIVE_INFINITY,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
    ...(options.dkim ? { dkim: options.dkim } : {}),
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

/**
 * Creates the mailer from the config; refuses when no relay is configured. Without DKIM (and unless SMTP_MAILER is
 * `nodemailer`) the pre-built messages go out through the raw SMTP client: profiling showed nodemailer's per-byte
 * JavaScript (dot-stuffing, stream plumbing) was most of the CPU per message. With a DKIM key nodemailer signs and
 * sends, and SMTP_MAILER=nodemailer keeps it for every message, as an escape hatch for an unusual relay.
 */
export function createMailerFromConfig(config: Pick<Config, 'smtp' | 'dkim'>): ClosableMailer {
  if (!config.smtp.url) {
    throw new AppError(
      'config_invalid',
      'SMTP_URL is not set: configure a relay (or run `letterpress worker`, which starts the capture server in development)',
    );
  }
  if (!config.dkim && config.smtp.mailer !== 'nodemailer') {
    return createRawSmtpMailer({
      url: config.smtp.url,
      poolSize: config.smtp.poolSize,
      timeoutMs: config.smtp.timeoutMs,
    });
  }
  return createSmtpMailer({
    url: config.smtp.url,
    poolSize: config.smtp.poolSize,
    timeoutMs: config.smtp.timeoutMs,
    dkim: config.dkim,
  });
}
