/**
 * Configuration: the only module that reads `process.env`. One zod schema over the environment, plus an optional
 * JSON file for the site and its newsletters. Read once at start; every module receives its own slice.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { AppError, formatZodIssues } from './errors.js';

/** A newsletter: who sends it, which sections it takes, how many articles at most. */
export const NewsletterSchema = z.object({
  /** Stable identifier used in keys, job ids and the CLI. */
  id: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9_-]{0,39}$/,
      'must be 1-40 characters of a-z, 0-9, _ or -, starting with a letter or digit',
    ),
  name: z.string().min(1).max(120),
  /** From header, e.g. `"The Harbour Gazette" <news@harbourgazette.example>`. Defaults to the site sender. */
  from: z.string().min(3).optional(),
  /** Reply-To header; defaults to the site reply-to or none. */
  replyTo: z.string().min(3).optional(),
  /** Sections this newsletter takes; an empty list takes every section. @defaultValue [] */
  sections: z.array(z.string().min(1)).default([]),
  /** Most articles in one digest. @defaultValue 12 */
  maxArticles: z.number().int().min(1).max(100).default(12),
  /** Short line under the masthead. */
  description: z.string().max(300).optional(),
});
export type Newsletter = z.infer<typeof NewsletterSchema>;

/** The site: the publication's identity, as the footer and headers show it. */
export const SiteSchema = z.object({
  name: z.string().min(1).max(120).default('The Harbour Gazette'),
  /** Public base URL of `letterpress serve`; unsubscribe links are built on it. Must be https in production. */
  baseUrl: z.string().url().default('https://news.harbourgazette.example'),
  /** Default sender for every newsletter. */
  from: z.string().min(3).default('"The Harbour Gazette" <newsletter@harbourgazette.example>'),
  replyTo: z.string().min(3).optional(),
  /** Postal address printed in every footer (CAN-SPAM and good manners). */
  postalAddress: z.string().min(1).default('The Harbour Gazette, 12 Quay Street, Port Ellery, PE1 2AB'),
  /** Domain used for Message-ID and List-Id. Defaults to the host of baseUrl. */
  mailDomain: z.string().min(1).optional(),
});
export type Site = z.infer<typeof SiteSchema>;

/** The optional JSON config file (`LETTERPRESS_CONFIG`). */
export const ConfigFileSchema = z.object({
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

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Every environment variable Letterpress reads. `.env.example` lists the same. */
export const EnvSchema = z.object({
  /** Redis connection URL. @defaultValue redis://127.0.0.1:6379 */
  REDIS_URL: z.string().url().optional(),
  /** Namespace for every Redis key and queue. @defaultValue lp */
  LETTERPRESS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 characters of A-Z, a-z, 0-9, _, . or -')
    .default('lp'),
  /** SMTP relay URL (smtp:// or smtps://). Unset: the embedded capture server (demo and development only). */
  SMTP_URL: z.string().url().optional(),
  /** Pooled SMTP connections per worker process. @defaultValue 10 */
  SMTP_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  /**
   * Which SMTP client sends: `auto` uses the built-in client for pre-built messages (the fast path) unless DKIM is
   * configured, when nodemailer signs and sends; `nodemailer` always uses nodemailer. @defaultValue auto
   */
  SMTP_MAILER: z.enum(['auto', 'nodemailer']).default('auto'),
  /** Milliseconds to wait for an SMTP reply before treating the attempt as a transient failure. @defaultValue 30000 */
  SMTP_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** Folder where the embedded capture server writes `.eml` files. @defaultValue ./demo-out */
  CAPTURE_DIR: z.string().min(1).default('./demo-out'),
  /** Secret for HMAC-signed subscriber tokens: at least 32 characters. Required outside development. */
  LETTERPRESS_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Path to the JSON config file for site and newsletters. */
  LETTERPRESS_CONFIG: z.string().min(1).optional(),
  /** DKIM: signing domain, selector and PEM private key (or a path to it). All three or none. */
  DKIM_DOMAIN: z.string().min(1).optional(),
  DKIM_SELECTOR: z.string().min(1).optional(),
  DKIM_PRIVATE_KEY: z.string().min(1).optional(),
  /** Recipients per delivery job. @defaultValue 500 */
  DELIVERY_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
  /** Delivery jobs one worker process runs at once. @defaultValue 4 */
  DELIVERY_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** Consecutive non-mailbox permanent failures that pause a digest. @defaultValue 50 */
  PAUSE_AFTER_PERMANENT_FAILURES: z.coerce.number().int().min(1).max(100_000).default(50),
  /** Port of `letterpress serve`. @defaultValue 8080 */
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  /** Shared secret for the signed CMS webhook (`POST /webhooks/articles`), at least 32 characters. Unset: closed. */
  WEBHOOK_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
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
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
});
export type Env = z.infer<typeof EnvSchema>;

/** The whole typed configuration. */
export interface Config {
  redisUrl: string;
  prefix: string;
  smtp: {
    url: string | undefined;
    poolSize: number;
    timeoutMs: number;
    captureDir: string;
    mailer: 'auto' | 'nodemailer';
  };
  secret: string;
  /** True when no LETTERPRESS_SECRET is set and the public development secret signs tokens. */
  isDevelopmentSecret: boolean;
  dkim: { domainName: string; keySelector: string; privateKey: string } | undefined;
  delivery: { batchSize: number; concurrency: number; pauseAfterPermanentFailures: number };
  http: {
    port: number;
    webhookSecret: string | undefined;
    editorTokens: NamedToken[];
    opsTokens: NamedToken[];
    /** Proxies trusted to append the client's address to X-Forwarded-For. */
    trustedProxies: number;
  };
  logLevel: Env['LOG_LEVEL'];
  /** Operations: how often workers beat. */
  ops: { heartbeatMs: number };
  requireRedisPersistence: boolean;
  feed: { maxBytes: number; fetchTimeoutMs: number };
  site: Site & { mailDomain: string };
  newsletters: Newsletter[];
  isProduction: boolean;
}

/** Secret used only when none is configured outside production; never suitable for real subscribers. */
const DEVELOPMENT_SECRET = 'letterpress-development-secret-not-for-production';

/**
 * Reads and validates the environment (and the config file it names) once. Throws an AppError `config_invalid`
 * listing every problem, field by field.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new AppError('config_invalid', `invalid environment: ${formatZodIssues(parsed.error)}`);
  }
  const e = parsed.data;
  const problems: string[] = [];
  const dkimParts = [e.DKIM_DOMAIN, e.DKIM_SELECTOR, e.DKIM_PRIVATE_KEY].filter(Boolean).length;
  if (dkimParts !== 0 && dkimParts !== 3) {
    problems.push('DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY: set all three or none');
  }
  const isProduction = e.NODE_ENV === 'production';
  if (isProduction && !e.LETTERPRESS_SECRET) problems.push('LETTERPRESS_SECRET: required when NODE_ENV=production');
  if (isProduction && !e.SMTP_URL) problems.push('SMTP_URL: required when NODE_ENV=production');

  let file: ConfigFile = ConfigFileSchema.parse({});
  if (e.LETTERPRESS_CONFIG) {
    try {
      file = parseConfigFile(readFileSync(e.LETTERPRESS_CONFIG, 'utf8'), e.LETTERPRESS_CONFIG);
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
  if (isProduction && !file.site.baseUrl.startsWith('https://')) {
    problems.push('site.baseUrl: must be https when NODE_ENV=production (RFC 8058 one-click unsubscribe)');
  }
  if (problems.length > 0) throw new AppError('config_invalid', `invalid configuration: ${problems.join('; ')}`);

  let privateKey = e.DKIM_PRIVATE_KEY;
  if (privateKey && !privateKey.includes('PRIVATE KEY')) privateKey = readFileSync(privateKey, 'utf8');

  return {
    redisUrl: e.REDIS_URL ?? 'redis://127.0.0.1:6379',
    prefix: e.LETTERPRESS_PREFIX,
    smtp: {
      url: e.SMTP_URL,
      poolSize: e.SMTP_POOL_SIZE,
      timeoutMs: e.SMTP_TIMEOUT_MS,
      captureDir: e.CAPTURE_DIR,
      mailer: e.SMTP_MAILER,
    },
    secret: e.LETTERPRESS_SECRET ?? DEVELOPMENT_SECRET,
    isDevelopmentSecret: !e.LETTERPRESS_SECRET,
    dkim:
      e.DKIM_DOMAIN && e.DKIM_SELECTOR && privateKey
        ? { domainName: e.DKIM_DOMAIN, keySelector: e.DKIM_SELECTOR, privateKey }
        : undefined,
    delivery: {
      batchSize: e.DELIVERY_BATCH_SIZE,
      concurrency: e.DELIVERY_CONCURRENCY,
      pauseAfterPermanentFailures: e.PAUSE_AFTER_PERMANENT_FAILURES,
    },
    http: {
      port: e.PORT,
      webhookSecret: e.WEBHOOK_SECRET,
      editorTokens: e.EDITOR_TOKENS ?? [],
      opsTokens: e.OPS_TOKENS ?? [],
      trustedProxies: e.TRUST_PROXY,
    },
    logLevel: e.LOG_LEVEL,
    ops: { heartbeatMs: e.WORKER_HEARTBEAT_MS },
    requireRedisPersistence: e.REQUIRE_REDIS_PERSISTENCE,
    feed: { maxBytes: e.FEED_MAX_BYTES, fetchTimeoutMs: e.FEED_FETCH_TIMEOUT_MS },
    site: { ...file.site, mailDomain: file.site.mailDomain ?? new URL(file.site.baseUrl).hostname },
    newsletters: file.newsletters,
    isProduction,
  };
}

/** Parses the JSON config file text; errors name the file, the field and the reason. */
export function parseConfigFile(text: string, name = 'config file'): ConfigFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AppError('config_invalid', `${name}: not valid JSON (${(error as Error).message})`);
  }
  const parsed = ConfigFileSchema.safeParse(json);
  if (!parsed.success) throw new AppError('config_invalid', `${name}: ${formatZodIssues(parsed.error)}`);
  return parsed.data;
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
