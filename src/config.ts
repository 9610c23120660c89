/**
 * Configuration: the only module that reads `process.env`. One zod schema over the environment, plus an optional
 * JSON file for the site and its newsletters. Read once at start; every module receives its own slice.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import addressparser from 'nodemailer/lib/addressparser';
import { CronExpressionParser } from 'cron-parser';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { AppError } from './errors.js';
import { parseMailbox } from './mail/compose-mime.js';
import { EmailSchema } from './subscribers/subscriber.js';
import type { HostPort, RedisTarget } from './redis.js';

/**
 * A mailbox as a From or Reply-To header carries it: exactly one address, optionally with a display name
 * (`"The Harbour Gazette" <newsletter@harbourgazette.example>`), on one line. Checked at start with the same parser
 * the message composer uses, so a value accepted here is one the composer can write.
 */
const mailboxField = z.string().superRefine((value, context) => {
  const problem = mailboxProblem(value);
  if (problem) context.addIssue({ code: 'custom', message: problem });
});

function mailboxProblem(value: string): string | undefined {
  if (/[\r\n\0]/.test(value)) return 'must be one line (no line breaks)';
  const parsed = addressparser(value);
  const [first] = parsed;
  if (parsed.length !== 1 || !first || 'group' in first) {
    return 'must be exactly one mailbox, e.g. "The Gazette" <news@example.org>';
  }
  let address: string;
  try {
    address = parseMailbox(value, 'mailbox').address;
  } catch {
    return `"${value}" is not a mailbox, e.g. "The Gazette" <news@example.org>`;
  }
  if (!EmailSchema.safeParse(address).success) return `"${first.address}" is not an email address`;
  return undefined;
}

/** The public address of `letterpress serve`: http(s) only, no credentials, query or fragment. */
const baseUrlField = z.string().superRefine((value, context) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    context.addIssue({ code: 'custom', message: 'must be an absolute URL, e.g. https://news.example.org' });
    return;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    context.addIssue({ code: 'custom', message: `must be an http(s) URL, not ${url.protocol}` });
  } else if (url.username || url.password || url.search || url.hash) {
    context.addIssue({ code: 'custom', message: 'must not carry a user, a password, a query or a fragment' });
  }
});
import { relayListProblems } from './smtp/relay-list.js';

/** An IANA time zone name such as `Europe/London` or `UTC`. */
export const TimeZoneSchema = z
  .string()
  .refine((zone) => IANAZone.isValidZone(zone), 'must be an IANA time zone such as Europe/London or UTC');

/** A BCP 47 locale the runtime can format dates in, such as `en-GB` or `fr-FR`. */
export const LocaleSchema = z.string().refine((locale) => {
  try {
    return Intl.DateTimeFormat.supportedLocalesOf([new Intl.Locale(locale).toString()]).length === 1;
  } catch {
    return false;
  }
}, 'must be a locale such as en-GB or fr-FR');

const DURATION_UNITS_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `90s`, `15m`, `2h` or `1d` as milliseconds, between one minute and seven days. */
export const IntervalSchema = z
  .string()
  .regex(/^\d{1,6}\s*[smhd]$/, 'must be a number and a unit: 90s, 15m, 2h or 1d')
  .transform((text) => Number.parseInt(text, 10) * DURATION_UNITS_MS[text.trim().slice(-1) as 's' | 'm' | 'h' | 'd'])
  .refine((ms) => ms >= 60_000 && ms <= 7 * 86_400_000, 'must be between 1m and 7d');

/** One feed a newsletter polls: where it is and how often. */
export const FeedSourceSchema = z
  .strictObject({
    /** The feed's http(s) URL. */
    url: z
      .string()
      .url()
      .refine((url) => /^https?:\/\//i.test(url), 'must be an http(s) URL'),
    /** How often it is polled. @defaultValue 15m */
    interval: IntervalSchema.default(15 * 60_000),
  })
  .transform(({ url, interval }) => ({ url, intervalMs: interval }));
export type FeedSource = z.infer<typeof FeedSourceSchema>;

/** A newsletter's own schedule: a cron line read in an IANA time zone, and whether a run sends or only drafts. */
export const NewsletterScheduleSchema = z
  .strictObject({
    /** Five-field cron (minute hour day-of-month month day-of-week), e.g. `0 6 * * 1-5`. */
    cron: z.string().min(1),
    /** The zone the cron line is read in; wins over `site.timeZone` for this newsletter. @defaultValue site.timeZone */
    timeZone: TimeZoneSchema.optional(),
    /** `send`: create and send on its own; `draft`: prepare a draft for an editor to approve. @defaultValue draft */
    mode: z.enum(['send', 'draft']).default('draft'),
  })
  .superRefine((schedule, context) => {
    try {
      CronExpressionParser.parse(schedule.cron, { tz: schedule.timeZone ?? 'UTC' });
    } catch (error) {
      context.addIssue({ code: 'custom', path: ['cron'], message: `is not a cron line (${(error as Error).message})` });
    }
    if (schedule.cron.trim().split(/\s+/).length !== 5) {
      context.addIssue({
        code: 'custom',
        path: ['cron'],
        message: 'must have five fields: minute hour day month weekday',
      });
    }
  });
export type NewsletterSchedule = z.infer<typeof NewsletterScheduleSchema>;

/** A newsletter: who sends it, which sections it takes, how many articles at most. */
export const NewsletterSchema = z.strictObject({
  /** Stable identifier used in keys, job ids and the CLI. */
  id: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9_-]{0,39}$/,
      'must be 1-40 characters of a-z, 0-9, _ or -, starting with a letter or digit',
    ),
  name: z.string().min(1).max(120),
  /** From header, e.g. `"The Harbour Gazette" <news@harbourgazette.example>`. Defaults to the site sender. */
  from: mailboxField.optional(),
  /** Reply-To header; defaults to the site reply-to or none. */
  replyTo: mailboxField.optional(),
  /** Sections this newsletter takes; an empty list takes every section. @defaultValue [] */
  sections: z.array(z.string().min(1)).default([]),
  /** Most articles in one digest. @defaultValue 12 */
  maxArticles: z.number().int().min(1).max(100).default(12),
  /** Short line under the masthead. */
  description: z.string().max(300).optional(),
  /**
   * How article images reach the reader: `remote` (the publisher's URL, the same for everyone; the mail client fetches
   * it when images are shown), `embedded` (fetched once when the digest is frozen, resized, and attached to the message
   * as `cid:` parts, so opening the email makes no network request) or `none` (no images). @defaultValue remote
   */
  images: z.enum(['remote', 'embedded', 'none']).default('remote'),
  /** Feeds polled for this newsletter's articles. @defaultValue [] */
  feeds: z.array(FeedSourceSchema).max(50).default([]),
  /** When the newsletter goes out on its own (or is drafted for approval); none: only when an editor sends it. */
  schedule: NewsletterScheduleSchema.optional(),
  /**
   * A welcome email sent once a reader confirms (or rejoins) this newsletter: a subject and a message in plain text,
   * paragraphs separated by a blank line. Absent: no welcome email.
   */
  welcome: z
    .object({
      subject: z.string().trim().min(1).max(200).optional(),
      message: z.string().trim().min(1).max(5000),
    })
    .optional(),
});
export type Newsletter = z.infer<typeof NewsletterSchema>;

/** The site: the publication's identity, as the footer and headers show it. */
export const SiteSchema = z.strictObject({
  name: z.string().min(1).max(120).default('The Harbour Gazette'),
  /** Public base URL of `letterpress serve`; unsubscribe links are built on it. Must be https in production. */
  baseUrl: baseUrlField.default('https://news.harbourgazette.example'),
  /** Default sender for every newsletter. */
  from: mailboxField.default('"The Harbour Gazette" <newsletter@harbourgazette.example>'),
  /** Default Reply-To for every newsletter; none when unset. */
  replyTo: mailboxField.optional(),
  /**
   * An address the relay receives unsubscribe requests at: List-Unsubscribe then offers
   * `<mailto:ADDRESS?subject=unsubscribe%20TOKEN>` beside the one-click https link, and the relay pipes what arrives
   * to `letterpress subscribers unsubscribe-mail`. Unset: the https link only (all RFC 8058 and Gmail ask).
   */
  unsubscribeMailbox: z.email('must be a bare address such as unsubscribe@example.org').max(200).optional(),
  /** Postal address printed in every footer (CAN-SPAM and good manners). */
  postalAddress: z.string().min(1).default('The Harbour Gazette, 12 Quay Street, Port Ellery, PE1 2AB'),
  /** Domain used for Message-ID and List-Id. Defaults to the host of baseUrl. */
  mailDomain: z.string().min(1).optional(),
  /** Language and date format of emails and pages (`lang` follows it). @defaultValue en-GB */
  locale: LocaleSchema.default('en-GB'),
  /** Zone dates are shown in, and schedules read in unless a newsletter names its own. @defaultValue UTC */
  timeZone: TimeZoneSchema.default('UTC'),
  /**
   * Largest HTML part of an email, in KB (1024 bytes): articles that would pass it are left out of the email with a
   * "more on the site" link, keeping it under Gmail's clipping at about 102 KB. @defaultValue 90
   */
  htmlBudgetKb: z.number().int().min(20).max(100).default(90),
});
export type Site = z.infer<typeof SiteSchema>;

/**
 * The JSON config file (`LETTERPRESS_CONFIG`; optional in development, required in production). Every object is
 * strict: an unknown key (a typo such as `"sitee"`) is refused by name instead of silently dropped.
 */
export const ConfigFileSchema = z.strictObject({
  site: SiteSchema.default(SiteSchema.parse({})),
  newsletters: z
    .array(NewsletterSchema)
    .min(1)
    .default([NewsletterSchema.parse({ id: 'daily', name: 'The Daily Digest' })])
    .refine((list) => new Set(list.map((n) => n.id)).size === list.length, 'newsletter ids must be unique'),
});
export type ConfigFile = z.infer<typeof ConfigFileSchema>;

/** One named token of `EDITOR_TOKENS` or `OPS_TOKENS`: the name signs the person's work, the token is their key. */
export interface NamedToken {
  name: string;
  token: string;
}

/** `name:token,name:token`: names of letters, digits, `.`, `_` or `-`; tokens of at least 32 characters. */
const namedTokensFromEnv = z.string().transform((value, context): NamedToken[] => {
  const tokens: NamedToken[] = [];
  for (const [index, pair] of value.split(',').entries()) {
    const trimmed = pair.trim();
    const colon = trimmed.indexOf(':');
    const name = colon > 0 ? trimmed.slice(0, colon) : '';
    const token = colon > 0 ? trimmed.slice(colon + 1) : '';
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) {
      context.addIssue({
        code: 'custom',
        message: `pair ${index + 1}: expected name:token with a name of letters, digits, . _ or -`,
      });
    } else if (token.length < 32 || /\s/.test(token)) {
      context.addIssue({
        code: 'custom',
        message: `pair ${index + 1} (${name}): the token must be at least 32 characters without spaces`,
      });
    } else if (tokens.some((known) => known.name === name)) {
      context.addIssue({ code: 'custom', message: `pair ${index + 1}: the name ${name} is used twice` });
    } else {
      tokens.push({ name, token });
    }
  }
  return tokens;
});

/** A comma-separated list of secrets, each at least 32 characters (empty entries ignored). */
const secretListFromEnv = z.string().transform((value, context): string[] => {
  const secrets = value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  secrets.forEach((secret, index) => {
    if (secret.length < 32)
      context.addIssue({ code: 'custom', message: `entry ${index + 1}: must be at least 32 characters` });
  });
  return secrets;
});

/** A comma-separated list of web origins (`https://host[:port]`), each written as its own origin. */
const originListFromEnv = z.string().transform((value, context): string[] => {
  const origins: string[] = [];
  for (const [index, part] of value.split(',').entries()) {
    const text = part.trim();
    if (!text) continue;
    let origin: string | undefined;
    try {
      origin = new URL(text).origin;
    } catch {
      origin = undefined;
    }
    if (!origin || origin === 'null' || origin !== text.replace(/\/$/, '')) {
      context.addIssue({
        code: 'custom',
        message: `entry ${index + 1}: expected an origin such as https://www.example.org (scheme, host and port only)`,
      });
    } else {
      origins.push(origin);
    }
  }
  return origins;
});

/** A comma-separated list of non-empty items. */
const listFromEnv = z.string().transform((value) =>
  value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean),
);

/** A Redis URL: redis:// or rediss:// (TLS), with a host. */
const redisUrlFromEnv = z.string().superRefine((value, context) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    context.addIssue({ code: 'custom', message: 'must be a URL such as redis://127.0.0.1:6379 or rediss://host:6380' });
    return;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    context.addIssue({ code: 'custom', message: `must start with redis:// or rediss:// (TLS), not ${url.protocol}//` });
  } else if (!url.hostname) {
    context.addIssue({ code: 'custom', message: 'must name a host, e.g. redis://127.0.0.1:6379' });
  }
});

/** `host:port,host:port` (IPv6 as `[::1]:7000`): at least one, ports 1-65535. */
const hostPortListFromEnv = z.string().transform((value, context): HostPort[] => {
  const nodes: HostPort[] = [];
  let hasBadEntry = false;
  for (const [index, part] of value.split(',').entries()) {
    const text = part.trim();
    if (!text) continue;
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
    const port = match ? Number.parseInt(match[3] ?? '', 10) : 0;
    if (!match || port < 1 || port > 65_535) {
      hasBadEntry = true;
      context.addIssue({
        code: 'custom',
        message: `entry ${index + 1} ("${text}"): expected host:port, e.g. 10.0.0.5:6379 or [::1]:7000`,
      });
    } else {
      nodes.push({ host: match[1] ?? match[2] ?? '', port });
    }
  }
  if (nodes.length === 0 && !hasBadEntry)
    context.addIssue({ code: 'custom', message: 'must list at least one host:port' });
  return nodes;
});

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Every environment variable Letterpress reads. `.env.example` lists the same. */
export const EnvSchema = z.object({
  /**
   * One Redis (or a managed endpoint): `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. Unset, and no
   * cluster or sentinels named: redis://127.0.0.1:6379.
   */
  REDIS_URL: redisUrlFromEnv.optional(),
  /** Redis Cluster: some of its nodes, `host:port,host:port` (the rest are discovered). Instead of REDIS_URL. */
  REDIS_CLUSTER_NODES: hostPortListFromEnv.optional(),
  /** Redis Sentinel: the sentinels, `host:port,host:port`; they name the current primary. Instead of REDIS_URL. */
  REDIS_SENTINELS: hostPortListFromEnv.optional(),
  /** The name the sentinels monitor the primary under (`sentinel monitor <name> ...`). Required with REDIS_SENTINELS. */
  REDIS_SENTINEL_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of A-Z, a-z, 0-9, _, . or -')
    .optional(),
  /** The sentinels' own password (`requirepass` of the sentinel processes), when they have one. */
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  /** With REDIS_CLUSTER_NODES or REDIS_SENTINELS: the ACL user of the Redis nodes (REDIS_URL carries its own). */
  REDIS_USERNAME: z.string().min(1).optional(),
  /** With REDIS_CLUSTER_NODES or REDIS_SENTINELS: the password of the Redis nodes (REDIS_URL carries its own). */
  REDIS_PASSWORD: z.string().min(1).optional(),
  /** With REDIS_CLUSTER_NODES or REDIS_SENTINELS: talk TLS to the Redis nodes (REDIS_URL says so with rediss://). @defaultValue false */
  REDIS_TLS: booleanFromEnv.default(false),
  /** Namespace for every Redis key and queue. @defaultValue lp */
  LETTERPRESS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of A-Z, a-z, 0-9, _, . or -')
    .default('lp'),
  /**
   * SMTP relay URL (smtp:// or smtps://), or several separated by commas, each with an optional `?weight=N` (see
   * `smtp/relay-list.ts`; checked with the other variables). Unset: the embedded capture server (demo and development
   * only).
   */
  SMTP_URL: z.string().trim().min(1).optional(),
  /**
   * Messages a worker process has in flight at once, across relays; each relay's pool may open up to this many
   * connections, so one relay can carry the whole load while the others are set aside. @defaultValue 10
   */
  SMTP_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  /**
   * Which SMTP client sends: `auto` uses the built-in client for pre-built messages (the fast path; it signs with DKIM
   * when a key is configured); `nodemailer` always uses nodemailer (it signs with the main DKIM key only).
   * @defaultValue auto
   */
  SMTP_MAILER: z.enum(['auto', 'nodemailer']).default('auto'),
  /**
   * Milliseconds to wait for the reply to each SMTP command (EHLO, STARTTLS, AUTH, MAIL FROM, RCPT TO, DATA, RSET)
   * before the attempt counts as a temporary failure. Connecting and the final dot have their own limits below.
   * @defaultValue 30000
   */
  SMTP_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** Milliseconds allowed to connect to the relay, finish the TLS handshake and read its greeting. @defaultValue 30000 */
  SMTP_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /**
   * Milliseconds to wait for the relay's reply to the final dot of a message (RFC 5321 §4.5.3.2: 10 minutes). Giving
   * up earlier on a relay that accepted sends the message again. @defaultValue 600000
   */
  SMTP_FINAL_DOT_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(600_000),
  /** Messages one SMTP connection carries before it is closed and a fresh one opened. @defaultValue 1000 */
  SMTP_MAX_MESSAGES_PER_CONNECTION: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  /** Milliseconds an unused SMTP connection stays open before it is closed with QUIT. @defaultValue 30000 */
  SMTP_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  /**
   * Allow the relay password over a connection without TLS (only for a relay on the same host); otherwise the
   * password is sent only over smtps:// or STARTTLS. @defaultValue false
   */
  SMTP_ALLOW_PLAINTEXT_AUTH: booleanFromEnv.default(false),
  /**
   * Milliseconds a relay that failed (could not be reached, or refused the session) is set aside when several relays
   * are configured; it doubles each time the relay fails again right after. @defaultValue 60000
   */
  SMTP_RELAY_SET_ASIDE_MS: z.coerce.number().int().min(10).max(3_600_000).default(60_000),
  /** The longest a failing relay is set aside, however often it failed. @defaultValue 600000 */
  SMTP_RELAY_SET_ASIDE_MAX_MS: z.coerce.number().int().min(10).max(86_400_000).default(600_000),
  /** Folder where the embedded capture server writes `.eml` files. @defaultValue ./demo-out */
  CAPTURE_DIR: z.string().min(1).default('./demo-out'),
  /** Secret for HMAC-signed subscriber tokens: at least 32 characters. Required in production, and not a weak one. */
  LETTERPRESS_SECRET: z
    .string()
    .min(32, 'must be at least 32 characters')
    .refine((value) => value.trim() !== '', 'must not be only whitespace')
    .optional(),
  /** Secrets used before LETTERPRESS_SECRET, comma-separated: links they signed keep working. @defaultValue none */
  LETTERPRESS_PREVIOUS_SECRETS: secretListFromEnv.optional(),
  /**
   * Key of the suppression list's keyed hashes (HMAC-SHA256 of the address), at least 32 characters. Never rotated:
   * a new key would stop matching every suppressed address. Required in production.
   */
  LETTERPRESS_SUPPRESSION_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Hours a sign-up confirmation link stays valid; unconfirmed sign-ups are purged after it. @defaultValue 72 */
  CONFIRM_TOKEN_TTL_HOURS: z.coerce.number().int().min(1).max(720).default(72),
  /** Transactional messages (confirmations, welcome, test sends) one worker process sends at once. @defaultValue 4 */
  TRANSACTIONAL_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** Path to the JSON config file for site and newsletters. */
  LETTERPRESS_CONFIG: z.string().min(1).optional(),
  /** DKIM: signing domain, selector and PEM private key (or a path to it). All three or none. */
  DKIM_DOMAIN: z.string().min(1).optional(),
  DKIM_SELECTOR: z.string().min(1).optional(),
  DKIM_PRIVATE_KEY: z.string().min(1).optional(),
  /** A second DKIM signature, Ed25519 (RFC 8463), under DKIM_DOMAIN: its selector and PEM key (or path). Both or none. */
  DKIM_ED25519_SELECTOR: z.string().min(1).optional(),
  DKIM_ED25519_PRIVATE_KEY: z.string().min(1).optional(),
  /** Recipients per delivery job. @defaultValue 500 */
  DELIVERY_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
  /** Delivery jobs one worker process runs at once. @defaultValue 4 */
  DELIVERY_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /**
   * Messages per second sent by every worker on every host together; `letterpress rate set` overrides it while
   * running. @defaultValue unset (unlimited)
   */
  SEND_RATE_PER_SECOND: z.coerce.number().positive().max(1_000_000).optional(),
  /** Consecutive non-mailbox permanent failures that pause a digest. @defaultValue 50 */
  PAUSE_AFTER_PERMANENT_FAILURES: z.coerce.number().int().min(1).max(100_000).default(50),
  /** Port of `letterpress serve`. @defaultValue 8080 */
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  /**
   * Address `letterpress serve` binds: every interface (what a container needs) unless set, e.g. `127.0.0.1` behind a
   * reverse proxy on the same host. @defaultValue 0.0.0.0
   */
  HOST: z
    .string()
    .refine(
      (value) =>
        ipaddr.isValid(value) ||
        /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(
          value,
        ),
      'must be an IP address or a host name, e.g. 0.0.0.0, :: or 127.0.0.1',
    )
    .default('0.0.0.0'),
  /** Shared secret for the signed CMS webhook (`POST /webhooks/articles`), at least 32 characters. Unset: closed. */
  WEBHOOK_SECRET: z
    .string()
    .min(32, 'must be at least 32 characters')
    .refine((value) => value.trim() !== '', 'must not be only whitespace')
    .optional(),
  /** Editors: `name:token` pairs (tokens of 32+ characters) for `/editor` (HTTP Basic) and `/api/v1` (Bearer). Unset: closed. */
  EDITOR_TOKENS: namedTokensFromEnv.optional(),
  /** Operators: `name:token` pairs for `/ops/*` and `/metrics` (Bearer, or Basic in a browser). Unset: closed. */
  OPS_TOKENS: namedTokensFromEnv.optional(),
  /**
   * Reverse proxies in front of `serve` that append to `X-Forwarded-For` (`true` = 1). The client address used by rate
   * limits is read from that header only when this is set. @defaultValue 0
   */
  TRUST_PROXY: z
    .union([z.enum(['true', 'false']), z.coerce.number().int().min(0).max(10)])
    .transform((value) => (value === 'true' ? 1 : value === 'false' ? 0 : value))
    .default(0),
  /** Other sites whose pages may post the sign-up form (`https://www.example.org,...`). @defaultValue none */
  SUBSCRIBE_ALLOWED_ORIGINS: originListFromEnv.optional(),
  /** Sign-up requests one client address may make per hour. @defaultValue 20 */
  SUBSCRIBE_RATE_PER_IP: z.coerce.number().int().min(1).max(100_000).default(20),
  /** Sign-up requests for one email address per hour, from anywhere. @defaultValue 5 */
  SUBSCRIBE_RATE_PER_ADDRESS: z.coerce.number().int().min(1).max(1_000).default(5),
  /** Soft bounces (reported by a relay's webhook) that suppress an address within the window. @defaultValue 3 */
  SOFT_BOUNCE_LIMIT: z.coerce.number().int().min(1).max(1_000).default(3),
  /** The soft-bounce window, in days. @defaultValue 7 */
  SOFT_BOUNCE_WINDOW_DAYS: z.coerce.number().int().min(1).max(365).default(7),
  /** Amazon SES via SNS: the topic ARNs whose notifications are accepted (comma-separated). Unset: closed. */
  BOUNCES_SES_TOPIC_ARNS: listFromEnv.optional(),
  /**
   * Tests only (refused in production): a PEM certificate (or a path to one) trusted for SNS signatures instead of
   * the certificate at the message's SigningCertURL. @defaultValue unset
   */
  BOUNCES_SES_TEST_CERTIFICATE: z.string().min(1).optional(),
  /** SendGrid signed event webhook: the verification key (base64 DER or PEM public key, ECDSA P-256). Unset: closed. */
  BOUNCES_SENDGRID_PUBLIC_KEY: z.string().min(1).optional(),
  /** Mailgun webhooks: the HTTP webhook signing key. Unset: closed. */
  BOUNCES_MAILGUN_SIGNING_KEY: z.string().min(8, 'must be at least 8 characters').optional(),
  /** Postmark webhooks: `user:password` (password of 24+ characters) put in the webhook URL. Unset: closed. */
  BOUNCES_POSTMARK_CREDENTIALS: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}:\S{24,}$/, 'must be user:password with a password of at least 24 characters')
    .optional(),
  /** How often each worker writes its heartbeat to Redis, in ms; it counts as stale after 3 missed beats. @defaultValue 5000 */
  WORKER_HEARTBEAT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /** pino level. @defaultValue info */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Refuse a Redis without append-only persistence instead of warning. @defaultValue false */
  REQUIRE_REDIS_PERSISTENCE: booleanFromEnv.default(false),
  /** Largest feed accepted, in bytes. @defaultValue 10485760 (10 MB) */
  FEED_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(200 * 1024 * 1024)
    .default(10 * 1024 * 1024),
  /** Milliseconds allowed to fetch one feed over http(s). @defaultValue 15000 */
  FEED_FETCH_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
  /**
   * Lets outbound fetches (feeds, article images) reach loopback, private, link-local and other non-public addresses.
   * Development and tests only: refused in production. @defaultValue false
   */
  FEED_ALLOW_PRIVATE_ADDRESSES: booleanFromEnv.default(false),
  /** Largest source image fetched for an `embedded` newsletter, in bytes. @defaultValue 15728640 (15 MB) */
  IMAGE_FETCH_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .default(15 * 1024 * 1024),
  /** Milliseconds allowed to fetch one image for an `embedded` newsletter. @defaultValue 15000 */
  IMAGE_FETCH_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
  /**
   * Bytes all embedded images of one digest may take together (before base64); each image gets an equal share and is
   * resized and recompressed until it fits. @defaultValue 819200 (800 KB)
   */
  EMBEDDED_IMAGES_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(16 * 1024)
    .max(20 * 1024 * 1024)
    .default(800 * 1024),
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
});
export type Env = z.infer<typeof EnvSchema>;

/** The whole typed configuration. */
export interface Config {
  /** Where Redis is: one server by URL, a Cluster, or a primary found through Sentinel. */
  redis: RedisTarget;
  prefix: string;
  smtp: {
    /** SMTP_URL as given: one relay or a list; `listRelays` (smtp/relay-list.ts) reads it. */
    url: string | undefined;
    /** Messages in flight per worker process, across relays; also each relay's connection limit. */
    poolSize: number;
    /** How long a failing relay is set aside at first (several relays only); doubles up to `setAsideMaxMs`. */
    setAsideMs: number;
    setAsideMaxMs: number;
    /** The reply to each command (SMTP_TIMEOUT_MS). */
    commandTimeoutMs: number;
    connectTimeoutMs: number;
    finalDotTimeoutMs: number;
    maxMessagesPerConnection: number;
    idleTimeoutMs: number;
    allowPlaintextAuth: boolean;
    captureDir: string;
    mailer: 'auto' | 'nodemailer';
  };
  secret: string;
  /** Secrets used before `secret`: tokens they signed still verify. */
  previousSecrets: string[];
  /** True when no LETTERPRESS_SECRET is set and the public development secret signs tokens. */
  isDevelopmentSecret: boolean;
  /** Key of the suppression list's keyed hashes; never rotates. */
  suppressionKey: string;
  subscribe: {
    /** Hours a confirmation link is valid (and a pending sign-up is kept). */
    confirmTtlHours: number;
    /** Other origins whose pages may post the sign-up form. */
    allowedOrigins: string[];
    ratePerIpPerHour: number;
    ratePerAddressPerHour: number;
  };
  transactional: { concurrency: number };
  bounces: {
    softLimit: number;
    softWindowDays: number;
    /** SES through SNS: accepted topics, and a certificate trusted instead of fetching (tests only). */
    ses: { topicArns: string[]; testCertificate: string | undefined } | undefined;
    sendgridPublicKey: string | undefined;
    mailgunSigningKey: string | undefined;
    postmark: { user: string; password: string } | undefined;
  };
  /**
   * DKIM signing: the main key (RSA, or Ed25519) and optionally an Ed25519 key signing a second time under its own
   * selector (RFC 8463). Keys are PEM text.
   */
  dkim:
    | {
        domainName: string;
        keySelector: string;
        privateKey: string;
        ed25519?: { keySelector: string; privateKey: string };
      }
    | undefined;
  delivery: { batchSize: number; concurrency: number; pauseAfterPermanentFailures: number };
  http: {
    port: number;
    /** Address the server binds. */
    host: string;
    webhookSecret: string | undefined;
    editorTokens: NamedToken[];
    opsTokens: NamedToken[];
    /** Proxies trusted to append the client's address to X-Forwarded-For. */
    trustedProxies: number;
  };
  logLevel: Env['LOG_LEVEL'];
  /** Operations: how often workers beat. */
  ops: { heartbeatMs: number };
  /** Messages per second for the installation (SEND_RATE_PER_SECOND; a rate stored in Redis overrides it). */
  sendRate: { perSecond: number | undefined };
  requireRedisPersistence: boolean;
  feed: {
    maxBytes: number;
    fetchTimeoutMs: number;
    /** Outbound fetches may reach non-public addresses (development and tests only). */
    allowPrivateAddresses: boolean;
  };
  /** Embedded images: fetch limits per source image and the byte budget of one digest's images. */
  images: { fetchMaxBytes: number; fetchTimeoutMs: number; budgetBytes: number };
  site: Site & { mailDomain: string };
  newsletters: Newsletter[];
  isProduction: boolean;
}

/** Secret used only when none is configured outside production; never suitable for real subscribers. */
const DEVELOPMENT_SECRET = 'letterpress-development-secret-not-for-production';
/** Suppression key used only outside production when none is configured. */
const DEVELOPMENT_SUPPRESSION_KEY = 'letterpress-development-suppression-key-not-for-production';

/** Fewest different characters a production secret or token may have; a random one has far more. */
const MIN_DISTINCT_SECRET_CHARACTERS = 8;

/** Site fields a production config file must state itself: their defaults are the sample paper's. */
const PRODUCTION_SITE_FIELDS = ['name', 'baseUrl', 'from', 'postalAddress'] as const;

/** Why a secret or token is too weak for production, or undefined when it will do. */
export function weakSecretReason(value: string): string | undefined {
  if (value === DEVELOPMENT_SECRET) return 'is the public development secret, so anyone could forge what it signs';
  if (value.trim() === '') return 'is only whitespace';
  if (value !== value.trim()) return 'starts or ends with whitespace (a copy-paste slip?)';
  const distinct = new Set(value).size;
  if (distinct === 1) return 'is one character repeated';
  if (distinct < MIN_DISTINCT_SECRET_CHARACTERS) return `uses only ${distinct} different characters`;
  return undefined;
}

/**
 * Reads and validates the environment and the config file it names, once. Every problem of both is collected and
 * thrown together as one AppError `config_invalid` (`NAME: reason; file: field: reason; ...`).
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const problems: string[] = [];
  const e = parseEnvironmentFields(cleaned, problems);
  const isProduction = e.NODE_ENV === 'production';
  checkVariablesTogether(e, isProduction, problems);
  const dkimKey = readDkimKey('DKIM_PRIVATE_KEY', e.DKIM_PRIVATE_KEY, ['rsa', 'ed25519'], problems);
  const dkimEd25519Key = readDkimKey('DKIM_ED25519_PRIVATE_KEY', e.DKIM_ED25519_PRIVATE_KEY, ['ed25519'], problems);
  const sesTestCertificate = readPemOrPath('BOUNCES_SES_TEST_CERTIFICATE', e.BOUNCES_SES_TEST_CERTIFICATE, problems);
  const file = readConfigFile(e.LETTERPRESS_CONFIG, isProduction, problems);
  if (isProduction && file && !file.site.baseUrl.startsWith('https://')) {
    problems.push('site.baseUrl: must be https when NODE_ENV=production (RFC 8058 one-click unsubscribe)');
  }
  if (problems.length > 0 || !file) {
    throw new AppError('config_invalid', `invalid configuration: ${problems.join('; ')}`);
  }
  return buildConfig(EnvSchema.parse(cleaned), file, { dkimKey, dkimEd25519Key, sesTestCertificate });
}

/** Parses each variable on its own, so one bad value hides no other; returns the ones that parsed. */
function parseEnvironmentFields(cleaned: Record<string, string | undefined>, problems: string[]): Partial<Env> {
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(EnvSchema.shape) as [string, z.ZodType][]) {
    const parsed = schema.safeParse(cleaned[name]);
    if (parsed.success) values[name] = parsed.data;
    else problems.push(...describeIssues(parsed.error, name));
  }
  return values as Partial<Env>;
}

/** Rules over several variables: DKIM all or none, production's requirements and its refusal of weak secrets. */
function checkVariablesTogether(e: Partial<Env>, isProduction: boolean, problems: string[]): void {
  const dkimParts = [e.DKIM_DOMAIN, e.DKIM_SELECTOR, e.DKIM_PRIVATE_KEY].filter(Boolean).length;
  if (dkimParts !== 0 && dkimParts !== 3) {
    problems.push('DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY: set all three or none');
  }
  if (Boolean(e.DKIM_ED25519_SELECTOR) !== Boolean(e.DKIM_ED25519_PRIVATE_KEY)) {
    problems.push('DKIM_ED25519_SELECTOR and DKIM_ED25519_PRIVATE_KEY: set both or none');
  } else if (e.DKIM_ED25519_SELECTOR && dkimParts !== 3) {
    problems.push('DKIM_ED25519_SELECTOR: a second signature needs DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY');
  }
  if (e.DKIM_ED25519_SELECTOR && e.DKIM_ED25519_SELECTOR === e.DKIM_SELECTOR) {
    problems.push(
      'DKIM_ED25519_SELECTOR: must differ from DKIM_SELECTOR (each key is published under its own selector)',
    );
  }
  problems.push(...redisTargetProblems(e));
  if (e.SMTP_URL)
    problems.push(...relayListProblems(e.SMTP_URL, { allowPlaintextAuth: e.SMTP_ALLOW_PLAINTEXT_AUTH ?? false }));
  if ((e.SMTP_RELAY_SET_ASIDE_MAX_MS ?? 600_000) < (e.SMTP_RELAY_SET_ASIDE_MS ?? 60_000)) {
    problems.push('SMTP_RELAY_SET_ASIDE_MAX_MS: must be at least SMTP_RELAY_SET_ASIDE_MS');
  }
  if (e.LETTERPRESS_SUPPRESSION_KEY && e.LETTERPRESS_SUPPRESSION_KEY === e.LETTERPRESS_SECRET) {
    problems.push(
      'LETTERPRESS_SUPPRESSION_KEY: must differ from LETTERPRESS_SECRET (the secret rotates, this key never)',
    );
  }
  if (!isProduction) return;
  if (!e.LETTERPRESS_SECRET) problems.push('LETTERPRESS_SECRET: required when NODE_ENV=production');
  if (!e.SMTP_URL) problems.push('SMTP_URL: required when NODE_ENV=production');
  if (!e.LETTERPRESS_SUPPRESSION_KEY) problems.push('LETTERPRESS_SUPPRESSION_KEY: required when NODE_ENV=production');
  if (e.BOUNCES_SES_TEST_CERTIFICATE) {
    problems.push('BOUNCES_SES_TEST_CERTIFICATE: for tests only; refused when NODE_ENV=production');
  }
  if (e.FEED_ALLOW_PRIVATE_ADDRESSES) {
    problems.push(
      'FEED_ALLOW_PRIVATE_ADDRESSES: development and tests only; in production it would let a feed URL reach Redis or a cloud metadata service',
    );
  }
  const secrets: [string, string | undefined][] = [
    ['LETTERPRESS_SECRET', e.LETTERPRESS_SECRET],
    ['LETTERPRESS_SUPPRESSION_KEY', e.LETTERPRESS_SUPPRESSION_KEY],
    ['WEBHOOK_SECRET', e.WEBHOOK_SECRET],
    ...(e.EDITOR_TOKENS ?? []).map((t): [string, string] => [`EDITOR_TOKENS (${t.name})`, t.token]),
    ...(e.OPS_TOKENS ?? []).map((t): [string, string] => [`OPS_TOKENS (${t.name})`, t.token]),
  ];
  const hint = 'generate one with `openssl rand -base64 48`';
  for (const [index, [name, value]] of secrets.entries()) {
    if (value === undefined) continue;
    const weakness = weakSecretReason(value);
    if (weakness) problems.push(`${name}: ${weakness}; ${hint}`);
    const twin = secrets.slice(0, index).find(([, other]) => other === value);
    if (twin) problems.push(`${name}: must differ from ${twin[0]} (one leak would give away both)`);
  }
}

/** One way to reach Redis: REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS, and the variables each one takes. */
function redisTargetProblems(e: Partial<Env>): string[] {
  const problems: string[] = [];
  const chosen = (['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'] as const).filter((name) => e[name]);
  if (chosen.length > 1) {
    problems.push(`${chosen.join(' and ')}: set only one of them (one Redis, a Cluster, or a primary behind Sentinel)`);
  }
  if (e.REDIS_SENTINELS && !e.REDIS_SENTINEL_NAME) {
    problems.push('REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the name in `sentinel monitor <name> ...`)');
  }
  if (!e.REDIS_SENTINELS) {
    for (const name of ['REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD'] as const) {
      if (e[name]) problems.push(`${name}: only used with REDIS_SENTINELS`);
    }
  }
  if (!e.REDIS_SENTINELS && !e.REDIS_CLUSTER_NODES) {
    const stray = (['REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_TLS'] as const).filter((name) => e[name]);
    for (const name of stray) {
      problems.push(
        `${name}: only used with REDIS_CLUSTER_NODES or REDIS_SENTINELS; put it in REDIS_URL (rediss://user:password@host:port)`,
      );
    }
  }
  return problems;
}

/** The Redis to connect to, from variables already checked by `redisTargetProblems`. */
function redisTarget(e: Env): RedisTarget {
  const auth = {
    ...(e.REDIS_USERNAME ? { username: e.REDIS_USERNAME } : {}),
    ...(e.REDIS_PASSWORD ? { password: e.REDIS_PASSWORD } : {}),
    isTls: e.REDIS_TLS,
  };
  if (e.REDIS_CLUSTER_NODES) return { kind: 'cluster', nodes: e.REDIS_CLUSTER_NODES, ...auth };
  if (e.REDIS_SENTINELS) {
    return {
      kind: 'sentinel',
      sentinels: e.REDIS_SENTINELS,
      name: e.REDIS_SENTINEL_NAME ?? 'mymaster',
      ...(e.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: e.REDIS_SENTINEL_PASSWORD } : {}),
      ...auth,
    };
  }
  return { kind: 'standalone', url: e.REDIS_URL ?? 'redis://127.0.0.1:6379' };
}

/** Smallest RSA key accepted for DKIM (RFC 8301 §3.2: verifiers must not accept less than 1024). */
const MIN_DKIM_RSA_BITS = 1024;

/**
 * A DKIM key: PEM text, or a path to one. A missing file, a value that is no private key, a key of another type than
 * `types`, or an RSA key under 1024 bits is a config problem naming `name`.
 */
function readDkimKey(
  name: string,
  value: string | undefined,
  types: readonly ('rsa' | 'ed25519')[],
  problems: string[],
): string | undefined {
  if (!value) return undefined;
  let pem = value;
  if (!value.includes('PRIVATE KEY')) {
    try {
      pem = readFileSync(value, 'utf8');
    } catch (error) {
      problems.push(`${name}: cannot read the key file ${value} (${fileErrorReason(error)})`);
      return undefined;
    }
  }
  let key;
  try {
    key = createPrivateKey(pem);
  } catch {
    problems.push(`${name}: not a PEM private key (expected -----BEGIN PRIVATE KEY----- or a path to one)`);
    return undefined;
  }
  const type = key.asymmetricKeyType;
  if (type !== 'rsa' && type !== 'ed25519') {
    problems.push(`${name}: a ${type ?? 'unknown'} key; DKIM signs with ${types.join(' or ')} keys`);
    return undefined;
  }
  if (!types.includes(type)) {
    problems.push(
      `${name}: an ${type} key; expected ${types.join(' or ')} (e.g. \`openssl genpkey -algorithm ed25519\`)`,
    );
    return undefined;
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (type === 'rsa' && bits < MIN_DKIM_RSA_BITS) {
    problems.push(`${name}: an RSA key of ${bits} bits; receivers refuse under ${MIN_DKIM_RSA_BITS} (use 2048)`);
    return undefined;
  }
  return pem;
}

/**
 * The config file, or the built-in defaults when none is named (development only: production refuses to start
 * without one, rather than send as the sample paper). Undefined when the file has problems (added to `problems`).
 */
function readConfigFile(path: string | undefined, isProduction: boolean, problems: string[]): ConfigFile | undefined {
  if (!path) {
    if (isProduction) {
      problems.push(
        'LETTERPRESS_CONFIG: required when NODE_ENV=production (without it, mail would go out as the sample paper)',
      );
    }
    return ConfigFileSchema.parse({});
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const folder = (error as NodeJS.ErrnoException).code === 'EISDIR';
    problems.push(
      folder
        ? `LETTERPRESS_CONFIG: ${path} is a folder, not a file (Docker mounts a folder when the file it should mount does not exist)`
        : `LETTERPRESS_CONFIG: cannot read ${path} (${fileErrorReason(error)})`,
    );
    return undefined;
  }
  const result = readConfigText(text, path);
  problems.push(...result.problems);
  if (isProduction && result.json !== undefined) {
    const site = (result.json as { site?: Record<string, unknown> }).site ?? {};
    for (const field of PRODUCTION_SITE_FIELDS) {
      if (!(field in site)) problems.push(`${path}: site.${field}: required when NODE_ENV=production`);
    }
  }
  return result.file;
}

/** Parses the JSON config file text; throws `config_invalid` naming the file, every field and its reason. */
export function parseConfigFile(text: string, name = 'config file'): ConfigFile {
  const result = readConfigText(text, name);
  if (!result.file) throw new AppError('config_invalid', result.problems.join('; '));
  return result.file;
}

function readConfigText(text: string, name: string): { file?: ConfigFile; json?: unknown; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { problems: [`${name}: not valid JSON (${(error as Error).message})`] };
  }
  const parsed = ConfigFileSchema.safeParse(json);
  if (!parsed.success) return { json, problems: describeIssues(parsed.error, name) };
  return { file: parsed.data, json, problems: [] };
}

/** One line per issue, `where: field.path: reason`; an unknown key is named by its own path. */
function describeIssues(error: z.ZodError, where: string): string[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${where}: ${[...issue.path, key].join('.')}: unknown field`);
    }
    const path = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    return [`${where}: ${path}${issue.message}`];
  });
}

function fileErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  return (error as Error).message;
}

/** A PEM value given as text or as a path to a file; a file that cannot be read is a config problem. */
function readPemOrPath(name: string, value: string | undefined, problems: string[]): string | undefined {
  if (!value || value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (error) {
    problems.push(`${name}: cannot read ${value} (${fileErrorReason(error)})`);
    return undefined;
  }
}

function buildConfig(
  e: Env,
  file: ConfigFile,
  read: { dkimKey: string | undefined; dkimEd25519Key: string | undefined; sesTestCertificate: string | undefined },
): Config {
  const { dkimKey, dkimEd25519Key, sesTestCertificate } = read;
  const postmark = e.BOUNCES_POSTMARK_CREDENTIALS;
  return {
    redis: redisTarget(e),
    prefix: e.LETTERPRESS_PREFIX,
    smtp: {
      url: e.SMTP_URL,
      poolSize: e.SMTP_POOL_SIZE,
      setAsideMs: e.SMTP_RELAY_SET_ASIDE_MS,
      setAsideMaxMs: e.SMTP_RELAY_SET_ASIDE_MAX_MS,
      commandTimeoutMs: e.SMTP_TIMEOUT_MS,
      connectTimeoutMs: e.SMTP_CONNECT_TIMEOUT_MS,
      finalDotTimeoutMs: e.SMTP_FINAL_DOT_TIMEOUT_MS,
      maxMessagesPerConnection: e.SMTP_MAX_MESSAGES_PER_CONNECTION,
      idleTimeoutMs: e.SMTP_IDLE_TIMEOUT_MS,
      allowPlaintextAuth: e.SMTP_ALLOW_PLAINTEXT_AUTH,
      captureDir: e.CAPTURE_DIR,
      mailer: e.SMTP_MAILER,
    },
    secret: e.LETTERPRESS_SECRET ?? DEVELOPMENT_SECRET,
    previousSecrets: e.LETTERPRESS_PREVIOUS_SECRETS ?? [],
    isDevelopmentSecret: !e.LETTERPRESS_SECRET || e.LETTERPRESS_SECRET === DEVELOPMENT_SECRET,
    suppressionKey: e.LETTERPRESS_SUPPRESSION_KEY ?? DEVELOPMENT_SUPPRESSION_KEY,
    subscribe: {
      confirmTtlHours: e.CONFIRM_TOKEN_TTL_HOURS,
      allowedOrigins: e.SUBSCRIBE_ALLOWED_ORIGINS ?? [],
      ratePerIpPerHour: e.SUBSCRIBE_RATE_PER_IP,
      ratePerAddressPerHour: e.SUBSCRIBE_RATE_PER_ADDRESS,
    },
    transactional: { concurrency: e.TRANSACTIONAL_CONCURRENCY },
    bounces: {
      softLimit: e.SOFT_BOUNCE_LIMIT,
      softWindowDays: e.SOFT_BOUNCE_WINDOW_DAYS,
      ses:
        e.BOUNCES_SES_TOPIC_ARNS && e.BOUNCES_SES_TOPIC_ARNS.length > 0
          ? { topicArns: e.BOUNCES_SES_TOPIC_ARNS, testCertificate: sesTestCertificate }
          : undefined,
      sendgridPublicKey: e.BOUNCES_SENDGRID_PUBLIC_KEY,
      mailgunSigningKey: e.BOUNCES_MAILGUN_SIGNING_KEY,
      postmark: postmark
        ? { user: postmark.slice(0, postmark.indexOf(':')), password: postmark.slice(postmark.indexOf(':') + 1) }
        : undefined,
    },
    dkim:
      e.DKIM_DOMAIN && e.DKIM_SELECTOR && dkimKey
        ? {
            domainName: e.DKIM_DOMAIN,
            keySelector: e.DKIM_SELECTOR,
            privateKey: dkimKey,
            ...(e.DKIM_ED25519_SELECTOR && dkimEd25519Key
              ? { ed25519: { keySelector: e.DKIM_ED25519_SELECTOR, privateKey: dkimEd25519Key } }
              : {}),
          }
        : undefined,
    delivery: {
      batchSize: e.DELIVERY_BATCH_SIZE,
      concurrency: e.DELIVERY_CONCURRENCY,
      pauseAfterPermanentFailures: e.PAUSE_AFTER_PERMANENT_FAILURES,
    },
    http: {
      port: e.PORT,
      host: e.HOST,
      webhookSecret: e.WEBHOOK_SECRET,
      editorTokens: e.EDITOR_TOKENS ?? [],
      opsTokens: e.OPS_TOKENS ?? [],
      trustedProxies: e.TRUST_PROXY,
    },
    logLevel: e.LOG_LEVEL,
    ops: { heartbeatMs: e.WORKER_HEARTBEAT_MS },
    sendRate: { perSecond: e.SEND_RATE_PER_SECOND },
    requireRedisPersistence: e.REQUIRE_REDIS_PERSISTENCE,
    feed: {
      maxBytes: e.FEED_MAX_BYTES,
      fetchTimeoutMs: e.FEED_FETCH_TIMEOUT_MS,
      allowPrivateAddresses: e.FEED_ALLOW_PRIVATE_ADDRESSES,
    },
    images: {
      fetchMaxBytes: e.IMAGE_FETCH_MAX_BYTES,
      fetchTimeoutMs: e.IMAGE_FETCH_TIMEOUT_MS,
      budgetBytes: e.EMBEDDED_IMAGES_MAX_BYTES,
    },
    site: { ...file.site, mailDomain: file.site.mailDomain ?? new URL(file.site.baseUrl).hostname },
    newsletters: file.newsletters,
    isProduction: e.NODE_ENV === 'production',
  };
}

/** The zone a newsletter's dates and schedule are read in: its schedule's own zone, else the site's. */
export function newsletterTimeZone(newsletter: Pick<Newsletter, 'schedule'>, site: Pick<Site, 'timeZone'>): string {
  return newsletter.schedule?.timeZone ?? site.timeZone;
}

/** Finds a configured newsletter or throws `newsletter_not_found`. */
export function findNewsletter(config: Pick<Config, 'newsletters'>, id: string): Newsletter {
  const found = config.newsletters.find((n) => n.id === id);
  if (!found) {
    throw new AppError(
      'newsletter_not_found',
      `newsletter "${id}" is not configured (known: ${config.newsletters.map((n) => n.id).join(', ')})`,
    );
  }
  return found;
}
