/**
 * `letterpress doctor`: looks at everything an installation depends on and says what to fix. Redis (version, an
 * eviction policy that never drops queued work, persistence), the relay (EHLO, TLS, login), the secrets, the DNS
 * records receivers check (DKIM, SPF, DMARC, compared with what DNS answers) and the workers' heartbeats. Each
 * finding is ok, a warning, or a failure with the fix in one sentence.
 */
import type { Config } from '../config.js';
import type { RelayProbe } from '../smtp/probe-relay.js';
import { listRelays } from '../smtp/relay-list.js';
import { dnsRecordsFor, senderDomain, type DnsRecord } from './dns-records.js';
import type { ObservedWorker } from './worker-heartbeats.js';

/** How serious a finding is. */
export type FindingStatus = 'ok' | 'warn' | 'fail';

/** One thing the doctor looked at. */
export interface Finding {
  area: 'redis' | 'relay' | 'secrets' | 'dns' | 'site' | 'workers';
  name: string;
  status: FindingStatus;
  detail: string;
  /** What to do, when the status is not ok. */
  fix?: string;
}

/** What Redis told about itself. */
export interface RedisFacts {
  version: string;
  /** Undefined when CONFIG GET is forbidden (managed Redis). */
  maxmemoryPolicy?: string;
  appendonly?: string;
  /** From INFO persistence. */
  aofLastWriteStatus?: string;
  rdbLastBgsaveStatus?: string;
  rdbChangesSinceLastSave?: number;
  /** The `save` schedule (`""`: no snapshots). */
  save?: string;
}

/** What the doctor reads. */
export interface DoctorDeps {
  config: Config;
  /** Undefined when Redis does not answer (with the reason). */
  readRedis(): Promise<RedisFacts>;
  /** Probes one configured relay (called for each relay of SMTP_URL; not without one). */
  probeRelay(url: string): Promise<RelayProbe>;
  /** DNS TXT lookup; rejects with a code like ENOTFOUND or ENODATA. */
  resolveTxt(name: string): Promise<string[][]>;
  listWorkers(): Promise<ObservedWorker[]>;
}

/** The doctor's report. */
export interface DoctorReport {
  findings: Finding[];
  /** The TXT records to publish. */
  dnsRecords: DnsRecord[];
  isHealthy: boolean;
}

const MIN_REDIS = [6, 2, 0];

/** Runs every check (see the module comment). */
export async function runDoctor(deps: DoctorDeps): Promise<DoctorReport> {
  const findings: Finding[] = [];
  const redis = await deps.readRedis().then(
    (facts) => facts,
    (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
  );
  findings.push(...(redis instanceof Error ? redisDown(redis) : checkRedis(redis, deps.config)));
  findings.push(...(await checkRelay(deps)));
  findings.push(...checkSecrets(deps.config));
  findings.push(...checkSite(deps.config));
  const dnsRecords = safeDnsRecords(deps.config, findings);
  findings.push(...(await checkDns(deps, dnsRecords)));
  if (!(redis instanceof Error)) findings.push(...(await checkWorkers(deps)));
  return { findings, dnsRecords, isHealthy: findings.every((finding) => finding.status !== 'fail') };
}

function redisDown(error: Error): Finding[] {
  return [
    {
      area: 'redis',
      name: 'reachable',
      status: 'fail',
      detail: error.message,
      fix: 'start Redis or correct REDIS_URL',
    },
  ];
}

/** Compares dotted versions. */
function isAtLeast(version: string, minimum: number[]): boolean {
  const parts = version.split('.').map((part) => Number.parseInt(part, 10) || 0);
  for (let i = 0; i < minimum.length; i += 1) {
    const have = parts[i] ?? 0;
    const want = minimum[i] ?? 0;
    if (have !== want) return have > want;
  }
  return true;
}

/** Redis version, eviction policy and persistence. */
export function checkRedis(facts: RedisFacts, config: Pick<Config, 'requireRedisPersistence'>): Finding[] {
  const findings: Finding[] = [];
  findings.push(
    isAtLeast(facts.version, MIN_REDIS)
      ? { area: 'redis', name: 'version', status: 'ok', detail: `Redis ${facts.version}` }
      : {
          area: 'redis',
          name: 'version',
          status: 'fail',
          detail: `Redis ${facts.version} is older than 6.2, which the queues need`,
          fix: 'upgrade Redis to 6.2 or later (7 recommended)',
        },
  );
  if (facts.maxmemoryPolicy === undefined) {
    findings.push({
      area: 'redis',
      name: 'maxmemory-policy',
      status: 'warn',
      detail: 'CONFIG GET is not allowed, so the eviction policy cannot be checked',
      fix: 'make sure the service is set to maxmemory-policy noeviction',
    });
  } else if (facts.maxmemoryPolicy !== 'noeviction') {
    findings.push({
      area: 'redis',
      name: 'maxmemory-policy',
      status: 'fail',
      detail: `maxmemory-policy is ${facts.maxmemoryPolicy}: when memory runs out Redis deletes keys, queued jobs and delivery records among them (letterpress refuses to start)`,
      fix: 'run `redis-cli CONFIG SET maxmemory-policy noeviction` and put `maxmemory-policy noeviction` in redis.conf',
    });
  } else {
    findings.push({ area: 'redis', name: 'maxmemory-policy', status: 'ok', detail: 'noeviction' });
  }
  if (facts.appendonly === 'yes') {
    const isFailing = facts.aofLastWriteStatus !== undefined && facts.aofLastWriteStatus !== 'ok';
    findings.push(
      isFailing
        ? {
            area: 'redis',
            name: 'persistence',
            status: 'fail',
            detail: `append-only file writes are failing (aof_last_write_status ${facts.aofLastWriteStatus})`,
            fix: 'look at the Redis log: usually a full or read-only disk',
          }
        : { area: 'redis', name: 'persistence', status: 'ok', detail: 'append-only file on' },
    );
  } else if (facts.appendonly === 'no') {
    const snapshots = facts.save && facts.save !== '' ? `RDB snapshots only (save ${facts.save})` : 'no persistence';
    findings.push({
      area: 'redis',
      name: 'persistence',
      status: config.requireRedisPersistence ? 'fail' : 'warn',
      detail: `${snapshots}: a Redis restart loses subscribers, queued work and the delivery ledger since the last snapshot`,
      fix: 'run `redis-cli CONFIG SET appendonly yes` and put `appendonly yes` and `appendfsync everysec` in redis.conf',
    });
  } else {
    findings.push({
      area: 'redis',
      name: 'persistence',
      status: 'warn',
      detail: 'CONFIG GET is not allowed, so persistence cannot be checked',
      fix: 'make sure the service keeps an append-only file or frequent snapshots',
    });
  }
  if (facts.rdbLastBgsaveStatus !== undefined && facts.rdbLastBgsaveStatus !== 'ok') {
    findings.push({
      area: 'redis',
      name: 'snapshots',
      status: 'warn',
      detail: `the last RDB snapshot failed (rdb_last_bgsave_status ${facts.rdbLastBgsaveStatus})`,
      fix: 'look at the Redis log: usually disk space or memory for the fork',
    });
  }
  return findings;
}

function isLoopback(relay: string): boolean {
  return /^(127\.|localhost:|\[?::1\]?:)/.test(relay);
}

async function checkRelay(deps: DoctorDeps): Promise<Finding[]> {
  const relays = listRelays(deps.config.smtp.url);
  if (relays.length === 0) {
    return [
      {
        area: 'relay',
        name: 'configured',
        status: deps.config.isProduction ? 'fail' : 'warn',
        detail: 'no SMTP_URL: workers capture messages as .eml files instead of sending them',
        fix: 'set SMTP_URL to your relay, e.g. smtps://user:password@smtp.example.org:465',
      },
    ];
  }
  const probes = await Promise.all(relays.map((relay) => deps.probeRelay(relay.url)));
  if (probes.length === 1) return judgeRelay(probes[0] as RelayProbe, 'SMTP_URL', 'fail');
  // Several relays: each is reported; one that fails is a warning while another carries the mail.
  const usable = probes.filter((probe) => probe.isReachable).length;
  const findings: Finding[] = [
    {
      area: 'relay',
      name: 'relays',
      status: usable === probes.length ? 'ok' : usable > 0 ? 'warn' : 'fail',
      detail: `${usable} of ${probes.length} relays usable (weights ${relays.map((relay) => relay.weight).join(':')})`,
      ...(usable < probes.length
        ? { fix: 'fix or remove the failing relays below; workers set them aside and retry them meanwhile' }
        : {}),
    },
  ];
  probes.forEach((probe, index) => {
    const place = `SMTP_URL[${index + 1}]`;
    findings.push(
      ...judgeRelay(probe, place, usable > 0 ? 'warn' : 'fail').map((finding) => ({
        ...finding,
        name: `${place} ${finding.name}`,
      })),
    );
  });
  return findings;
}

/** One relay's findings: its session, TLS and login; `place` names it in fixes, `failure` is a failed session's status. */
function judgeRelay(probe: RelayProbe, place: string, failure: FindingStatus): Finding[] {
  if (!probe.isReachable) {
    const code = probe.failure?.code ?? 'ECONNECTION';
    const fixes: Record<string, string> = {
      EAUTH: `check the user and password in ${place} (percent-encode special characters)`,
      ETLS: 'check the relay’s certificate and port: smtps:// for port 465, smtp:// with STARTTLS for 587',
      ETIMEDOUT: 'check the host, the port and any firewall between this host and the relay',
    };
    const step = probe.greeting ? (probe.extensions.length > 0 ? 'after EHLO' : 'after the greeting') : 'connecting';
    return [
      {
        area: 'relay',
        name: 'session',
        status: failure,
        detail: `${probe.relay}: failed ${step} (${code}: ${probe.failure?.message ?? 'no answer'})`,
        fix: fixes[code] ?? `check the host and port in ${place} and that the relay is running`,
      },
    ];
  }
  const findings: Finding[] = [
    {
      area: 'relay',
      name: 'EHLO',
      status: 'ok',
      detail: `${probe.relay} answers (${probe.greeting ?? 'no greeting text'}); offers ${probe.extensions.join(', ') || 'no extensions'}`,
    },
  ];
  findings.push(
    probe.tls !== 'none'
      ? {
          area: 'relay',
          name: 'TLS',
          status: 'ok',
          detail: probe.tls === 'implicit' ? 'TLS from the start (smtps)' : 'STARTTLS',
        }
      : isLoopback(probe.relay)
        ? { area: 'relay', name: 'TLS', status: 'ok', detail: 'no TLS, on this machine' }
        : {
            area: 'relay',
            name: 'TLS',
            status: 'warn',
            detail: 'the session is not encrypted: messages and the login cross the network in clear',
            fix: 'use smtps:// (port 465) or a relay that offers STARTTLS; add ?requireTLS=true to insist',
          },
  );
  if (probe.hasCredentials) {
    findings.push({ area: 'relay', name: 'AUTH', status: 'ok', detail: 'login accepted' });
  } else {
    findings.push({
      area: 'relay',
      name: 'AUTH',
      status: probe.authMechanisms.length > 0 && !isLoopback(probe.relay) ? 'warn' : 'ok',
      detail:
        probe.authMechanisms.length > 0
          ? `no login configured although the relay offers ${probe.authMechanisms.join(' ')}`
          : 'no login configured or offered',
      ...(probe.authMechanisms.length > 0 && !isLoopback(probe.relay)
        ? { fix: `put the relay’s user and password in ${place} unless it accepts this host by its address` }
        : {}),
    });
  }
  return findings;
}

/** A secret that repeats a handful of characters is guessable, however long. */
function looksGuessable(secret: string): boolean {
  return new Set(secret).size < 12;
}

function checkSecrets(config: Config): Finding[] {
  const findings: Finding[] = [];
  if (config.isDevelopmentSecret) {
    findings.push({
      area: 'secrets',
      name: 'LETTERPRESS_SECRET',
      status: config.isProduction ? 'fail' : 'warn',
      detail: 'not set: unsubscribe links are signed with the public development secret, so anyone can forge them',
      fix: 'set LETTERPRESS_SECRET to 32+ random characters, e.g. `openssl rand -hex 32`, before real readers subscribe',
    });
  } else if (looksGuessable(config.secret)) {
    findings.push({
      area: 'secrets',
      name: 'LETTERPRESS_SECRET',
      status: 'warn',
      detail: 'set, but made of few distinct characters',
      fix: 'use `openssl rand -hex 32` (changing it invalidates links already sent)',
    });
  } else {
    findings.push({ area: 'secrets', name: 'LETTERPRESS_SECRET', status: 'ok', detail: 'set' });
  }
  const webhook = config.http.webhookSecret;
  findings.push(
    !webhook
      ? { area: 'secrets', name: 'WEBHOOK_SECRET', status: 'ok', detail: 'not set: the CMS webhook is closed' }
      : webhook === config.secret
        ? {
            area: 'secrets',
            name: 'WEBHOOK_SECRET',
            status: 'warn',
            detail: 'the same as LETTERPRESS_SECRET: whoever runs the CMS could sign unsubscribe links',
            fix: 'give the webhook its own secret',
          }
        : { area: 'secrets', name: 'WEBHOOK_SECRET', status: 'ok', detail: 'set' },
  );
  findings.push(
    config.http.opsTokens.length === 0
      ? {
          area: 'secrets',
          name: 'OPS_TOKENS',
          status: 'warn',
          detail: 'not set: /metrics and the queue dashboard /ops/queues answer 404',
          fix: 'set OPS_TOKENS=name:<32+ random characters> and give Prometheus the token as a Bearer token',
        }
      : { area: 'secrets', name: 'OPS_TOKENS', status: 'ok', detail: `${config.http.opsTokens.length} operator(s)` },
  );
  const editorTokens = new Set(config.http.editorTokens.map((entry) => entry.token));
  const shared = config.http.opsTokens.filter((entry) => editorTokens.has(entry.token));
  if (shared.length > 0) {
    findings.push({
      area: 'secrets',
      name: 'tokens shared',
      status: 'warn',
      detail: `${shared.map((entry) => entry.name).join(', ')}: the same token opens the editor and the ops areas`,
      fix: 'give each person one token per area',
    });
  }
  if (!config.dkim) {
    findings.push({
      area: 'secrets',
      name: 'DKIM key',
      status: 'warn',
      detail: 'no DKIM key: messages are not signed, and large mailbox providers reject or junk unsigned bulk mail',
      fix: 'create a key (`openssl genrsa -out dkim.pem 2048`), set DKIM_DOMAIN, DKIM_SELECTOR, DKIM_PRIVATE_KEY, and publish the DKIM record below',
    });
  } else {
    findings.push({ area: 'secrets', name: 'DKIM key', status: 'ok', detail: `selector ${config.dkim.keySelector}` });
  }
  return findings;
}

function checkSite(config: Config): Finding[] {
  const findings: Finding[] = [];
  if (!config.site.baseUrl.startsWith('https://')) {
    findings.push({
      area: 'site',
      name: 'baseUrl',
      status: config.isProduction ? 'fail' : 'warn',
      detail: `${config.site.baseUrl} is not https: mailbox providers ignore one-click unsubscribe (RFC 8058) without it`,
      fix: 'serve letterpress behind TLS and set site.baseUrl to its https address',
    });
  }
  const domain = senderDomain(config.site.from);
  const dkimDomain = config.dkim?.domainName.toLowerCase();
  if (domain && dkimDomain && domain !== dkimDomain && !domain.endsWith(`.${dkimDomain}`)) {
    findings.push({
      area: 'site',
      name: 'DKIM alignment',
      status: 'warn',
      detail: `the From domain ${domain} is not DKIM_DOMAIN ${dkimDomain} or below it, so DMARC cannot pass on DKIM`,
      fix: `sign with DKIM_DOMAIN=${domain}`,
    });
  }
  return findings;
}

function safeDnsRecords(config: Config, findings: Finding[]): DnsRecord[] {
  try {
    return dnsRecordsFor(config);
  } catch (error) {
    findings.push({
      area: 'dns',
      name: 'DKIM key',
      status: 'fail',
      detail: `the DKIM private key cannot be read: ${(error as Error).message}`,
      fix: 'set DKIM_PRIVATE_KEY to a PEM private key or the path of one',
    });
    return [];
  }
}

async function checkDns(deps: DoctorDeps, records: DnsRecord[]): Promise<Finding[]> {
  return Promise.all(
    records.map(async (record): Promise<Finding> => {
      const publish = `publish TXT ${record.name} "${record.value}"${record.note ? ` (${record.note})` : ''}`;
      let published: string[];
      try {
        published = (await deps.resolveTxt(record.name)).map((chunks) => chunks.join(''));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'error';
        const isMissing = code === 'ENOTFOUND' || code === 'ENODATA';
        return {
          area: 'dns',
          name: record.kind.toUpperCase(),
          status: 'warn',
          detail: isMissing ? `${record.name} has no TXT record` : `${record.name} could not be looked up (${code})`,
          fix: publish,
        };
      }
      const prefix = record.kind === 'dkim' ? 'v=DKIM1' : record.kind === 'spf' ? 'v=spf1' : 'v=DMARC1';
      const found = published.filter((value) => value.toLowerCase().startsWith(prefix.toLowerCase()));
      if (found.length === 0) {
        return {
          area: 'dns',
          name: record.kind.toUpperCase(),
          status: 'warn',
          detail: `${record.name} has no ${prefix} record`,
          fix: publish,
        };
      }
      if (record.kind === 'dkim') {
        const key = /p=([^;\s]+)/.exec(record.value)?.[1];
        const matches = found.some((value) => value.replace(/\s/g, '').includes(`p=${key}`));
        return matches
          ? { area: 'dns', name: 'DKIM', status: 'ok', detail: `${record.name} publishes this key` }
          : {
              area: 'dns',
              name: 'DKIM',
              status: 'fail',
              detail: `${record.name} publishes another key: receivers will fail every signature`,
              fix: publish,
            };
      }
      if (record.kind === 'spf' && found.length > 1) {
        return {
          area: 'dns',
          name: 'SPF',
          status: 'fail',
          detail: `${record.name} has ${found.length} SPF records; receivers treat that as an error`,
          fix: 'merge them into one record',
        };
      }
      return { area: 'dns', name: record.kind.toUpperCase(), status: 'ok', detail: `${record.name}: ${found[0]}` };
    }),
  );
}

async function checkWorkers(deps: DoctorDeps): Promise<Finding[]> {
  const workers = await deps.listWorkers();
  const alive = workers.filter((worker) => !worker.isStale);
  const stale = workers.filter((worker) => worker.isStale);
  const findings: Finding[] = [
    alive.length > 0
      ? { area: 'workers', name: 'running', status: 'ok', detail: `${alive.length} worker(s) beating` }
      : {
          area: 'workers',
          name: 'running',
          status: 'warn',
          detail: 'no worker is running: digests are not delivered',
          fix: 'start `letterpress worker` (as many as you like, on any host)',
        },
  ];
  if (stale.length > 0) {
    findings.push({
      area: 'workers',
      name: 'stopped beating',
      status: 'warn',
      detail: stale.map((worker) => `${worker.id} (last beat ${(worker.ageMs / 1000).toFixed(0)} s ago)`).join(', '),
      fix: 'look at those processes: a worker that hangs or was killed keeps its jobs until BullMQ hands them on',
    });
  }
  return findings;
}
