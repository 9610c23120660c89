/**
 * Readiness: can this installation do its work now? Redis answers, its configuration passes the start-up checks (a
 * policy changed at run time to an evicting one fails here), and a relay opens a session (with several relays, at
 * least one: the mailer sets the others aside and sends through it). `/readyz` and
 * `letterpress health` answer with it. The relay probe is cached briefly so that frequent probes do not hammer it.
 */
import { isAppError } from '../errors.js';
import type { RelayProbe } from '../smtp/probe-relay.js';

/** One check's verdict. */
export interface ReadinessCheck {
  name: 'redis' | 'config' | 'relay';
  isOk: boolean;
  /** One sentence, free of addresses, hosts and credentials (the route is open). */
  detail: string;
}

/** The verdict. */
export interface Readiness {
  isReady: boolean;
  checks: ReadinessCheck[];
}

/** What the checks need. */
export interface CheckReadinessDeps {
  ping(): Promise<unknown>;
  /** Throws `redis_misconfigured` when Redis would lose queued work (see `checkRedisConfiguration`). */
  checkRedisConfiguration(): Promise<void>;
  /** Probes every configured relay, in SMTP_URL's order; undefined when none is configured (development). */
  probeRelays?: () => Promise<RelayProbe[]>;
}

/** Runs the three checks; the relay and config are skipped (not ok) when Redis does not answer. */
export async function checkReadiness(deps: CheckReadinessDeps): Promise<Readiness> {
  const checks: ReadinessCheck[] = [];
  let isRedisUp = true;
  try {
    await deps.ping();
    checks.push({ name: 'redis', isOk: true, detail: 'Redis answers' });
  } catch {
    isRedisUp = false;
    checks.push({ name: 'redis', isOk: false, detail: 'Redis does not answer' });
  }
  if (isRedisUp) {
    try {
      await deps.checkRedisConfiguration();
      checks.push({ name: 'config', isOk: true, detail: 'configuration checks pass' });
    } catch (error) {
      const detail = isAppError(error) ? error.message : 'the Redis configuration could not be read';
      checks.push({ name: 'config', isOk: false, detail });
    }
  } else {
    checks.push({ name: 'config', isOk: false, detail: 'not checked: Redis does not answer' });
  }
  checks.push(judgeRelayProbes(deps.probeRelays ? await deps.probeRelays() : []));
  return { isReady: checks.every((check) => check.isOk), checks };
}

/** The relay check: ok when a relay opens a session. Relays are named by their place in SMTP_URL, never by host. */
function judgeRelayProbes(probes: readonly RelayProbe[]): ReadinessCheck {
  const [only] = probes;
  if (!only)
    return { name: 'relay', isOk: true, detail: 'no relay configured: workers capture messages (development)' };
  if (probes.length === 1) {
    return only.isReachable
      ? { name: 'relay', isOk: true, detail: `the relay answers ${describeSession(only)}` }
      : { name: 'relay', isOk: false, detail: `the relay cannot be used (${only.failure?.code ?? 'unknown'})` };
  }
  const usable = probes.filter((probe) => probe.isReachable).length;
  const failing = probes.flatMap((probe, index) =>
    probe.isReachable ? [] : [`relay ${index + 1}: ${probe.failure?.code ?? 'unknown'}`],
  );
  return {
    name: 'relay',
    isOk: usable > 0,
    detail:
      `${usable} of ${probes.length} relays answer` +
      (failing.length > 0 ? ` (cannot be used: ${failing.join(', ')})` : ''),
  };
}

function describeSession(probe: RelayProbe): string {
  const tls = probe.tls === 'none' ? 'without TLS' : probe.tls === 'implicit' ? 'over TLS' : 'with STARTTLS';
  return `${tls}${probe.isAuthenticated ? ', login accepted' : ''}`;
}

/** Wraps a probe so it runs at most once per `ttlMs` (concurrent callers share the run in progress). */
export function cacheProbe<T>(probe: () => Promise<T>, ttlMs: number, now: () => number = Date.now): () => Promise<T> {
  let cached: { at: number; value: Promise<T> } | undefined;
  return () => {
    if (!cached || now() - cached.at > ttlMs) {
      const value = probe();
      cached = { at: now(), value };
      value.catch(() => {
        cached = undefined;
      });
    }
    return cached.value;
  };
}
