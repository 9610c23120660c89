/**
 * The SMTP edge: a pooled nodemailer transport that sends pre-built raw messages. nodemailer only adds the DKIM
 * signature (when configured) and speaks SMTP; it composes nothing.
 */
import nodemailer from 'nodemailer';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { parseMailbox } from '../mail/compose-mime.js';
import type { ClosableMailer, SendResult } from './mailer.js';
import type { Logger } from '../logger.js';
import { createDkimSigningMailer, dkimKeysOf } from './dkim-signing-mailer.js';
import { createRawSmtpMailer, RAW_SMTP_DEFAULTS, type RawSmtpMailer } from './raw-smtp-mailer.js';
import { listRelays } from './relay-list.js';
import { createRelayPool, type PooledRelay, type RelayPool } from './relay-pool.js';
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

/** What `createMailerFromConfig` may do to each relay's mailer before it is pooled. */
export interface MailerFromConfigOptions {
  /** Wraps one relay's mailer (the app measures each relay's sends). @defaultValue none */
  wrapRelay?: (mailer: ClosableMailer, relay: string) => ClosableMailer;
  /** Says when a relay is set aside and back (several relays only). @defaultValue silent */
  logger?: Logger;
}

/**
 * Creates the mailer from the config; refuses when no relay is configured. Unless SMTP_MAILER is `nodemailer`, the
 * pre-built messages go out through the raw SMTP client (profiling showed nodemailer's per-byte JavaScript, dot-stuffing
 * and stream plumbing, was most of the CPU per message), signed by `createDkimSigningMailer` when a DKIM key is
 * configured. SMTP_MAILER=nodemailer keeps nodemailer for every message (it signs with the main key only), as an
 * escape hatch for an unusual relay. With several relays in SMTP_URL, each gets its own pool (up to SMTP_POOL_SIZE
 * connections) behind one relay pool that spreads the messages by weight and sets failing relays aside (see
 * `relay-pool.ts`).
 */
export function createMailerFromConfig(
  config: Pick<Config, 'smtp' | 'dkim' | 'site'>,
  options: MailerFromConfigOptions = {},
): RelayPool {
  const { smtp } = config;
  const relays = listRelays(smtp.url);
  if (relays.length === 0) {
    throw new AppError(
      'config_invalid',
      'SMTP_URL is not set: configure a relay (or run `letterpress worker`, which starts the capture server in development)',
    );
  }
  const isOneOfSeveral = relays.length > 1;
  const pooled = relays.map((relay): PooledRelay => {
    const mailer = createRelayMailer(config, relay.url, isOneOfSeveral);
    return {
      label: relay.label,
      weight: relay.weight,
      mailer: options.wrapRelay?.(mailer, relay.label) ?? mailer,
      ...('connectionCount' in mailer ? { connectionCount: mailer.connectionCount, isUnsent: mailer.isUnsent } : {}),
    };
  });
  const [only] = pooled;
  if (only && !isOneOfSeveral) {
    // One relay: no pool in between, so its failures reach the delivery exactly as they always did.
    let inFlight = 0;
    return {
      async send(message) {
        inFlight += 1;
        try {
          return await only.mailer.send(message);
        } finally {
          inFlight -= 1;
        }
      },
      close: () => only.mailer.close(),
      relayStatus: () => [{ relay: only.label, weight: 1, connections: only.connectionCount?.() ?? inFlight }],
    };
  }
  return createRelayPool({
    relays: pooled,
    setAsideMs: smtp.setAsideMs,
    setAsideMaxMs: smtp.setAsideMaxMs,
    logger: options.logger,
  });
}

/** One relay's pooled mailer: the built-in client, or nodemailer with DKIM or SMTP_MAILER=nodemailer. */
function createRelayMailer(
  config: Pick<Config, 'smtp' | 'dkim' | 'site'>,
  url: string,
  isOneOfSeveral: boolean,
): ClosableMailer | RawSmtpMailer {
  const { smtp } = config;
  const shared = {
    url,
    poolSize: smtp.poolSize,
    connectTimeoutMs: smtp.connectTimeoutMs,
    finalDotTimeoutMs: smtp.finalDotTimeoutMs,
    maxMessagesPerConnection: smtp.maxMessagesPerConnection,
    idleTimeoutMs: smtp.idleTimeoutMs,
    allowPlaintextAuth: smtp.allowPlaintextAuth,
    heloName: defaultHeloName(config.site),
  };
  if (smtp.mailer !== 'nodemailer') {
    const raw = createRawSmtpMailer({
      ...shared,
      commandTimeoutMs: smtp.commandTimeoutMs,
      failWaitingWhenUnreachable: isOneOfSeveral,
    });
    if (!config.dkim) return raw;
    // Signed, then sent by the same client: the relay pool still reads its connections and its unsent failures.
    const signing = createDkimSigningMailer(raw, { keys: dkimKeysOf(config.dkim) });
    return { ...raw, send: signing.send, close: signing.close };
  }
  return createSmtpMailer({ ...shared, dkim: config.dkim });
}
