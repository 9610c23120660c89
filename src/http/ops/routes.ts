/**
 * The operators' routes: `/readyz` (open, says nothing private), and behind `OPS_TOKENS` (Bearer for Prometheus,
 * Basic for a browser; 404 when no token is configured) `/metrics` and the queue dashboard `/ops/queues`.
 */
import type { MiddlewareHandler } from 'hono';
import type { App } from '../../app.js';
import { cacheProbe, checkReadiness } from '../../ops/check-readiness.js';
import { createPrometheusMetrics } from '../../ops/prometheus-metrics.js';
import { readOpsSnapshot } from '../../ops/read-ops-snapshot.js';
import { checkRedisConfiguration } from '../../redis.js';
import { silentLogger } from '../../logger.js';
import { probeSmtpRelays, type RelayProbe } from '../../smtp/probe-relay.js';
import { listRelays } from '../../smtp/relay-list.js';
import { checkOrigin, requireToken } from '../access/require-token.js';
import { clientAddress } from '../client-address.js';
import type { HttpApp, HttpEnv } from '../http-env.js';
import { createRateLimiter } from '../rate-limit.js';
import { relayProbeOptions } from '../../smtp/smtp-mailer.js';
import { createQueueDashboard, keepDashboardOnOurOrigin, QUEUE_DASHBOARD_PATH } from './queue-dashboard.js';

/** How long one relay probe answers for (readiness probes and scrapes come every few seconds). */
const RELAY_PROBE_TTL_MS = 30_000;

/** Registers `/readyz`, `/metrics` and `/ops/queues`. */
export function registerOpsRoutes(http: HttpApp, app: App): void {
  const relayUrls = listRelays(app.config.smtp.url).map((relay) => relay.url);
  const probeOptions = relayProbeOptions(app.config, Math.min(5_000, app.config.smtp.commandTimeoutMs));
  const probeRelays =
    relayUrls.length > 0 ? cacheProbe(() => probeSmtpRelays(relayUrls, probeOptions), RELAY_PROBE_TTL_MS) : undefined;
  const guard = operatorsOnly(app);

  http.get('/readyz', async (c) => {
    const readiness = await checkReadiness({
      ping: () => app.redis.ping(),
      checkRedisConfiguration: () =>
        checkRedisConfiguration(app.redis, {
          requirePersistence: app.config.requireRedisPersistence,
          logger: silentLogger,
        }),
      probeRelays,
    });
    return c.json({ ok: readiness.isReady, checks: readiness.checks }, readiness.isReady ? 200 : 503);
  });

  const metrics = createPrometheusMetrics();
  http.get('/metrics', guard, async (c) => {
    const snapshot = await readOpsSnapshot(snapshotDeps(app, probeRelays));
    return c.body(await metrics.render(snapshot), 200, { 'Content-Type': metrics.contentType });
  });

  const dashboardGuards = [
    guard,
    checkOrigin(() => [new URL(app.config.site.baseUrl).origin]),
    keepDashboardOnOurOrigin(),
  ];
  http.use(`${QUEUE_DASHBOARD_PATH}/*`, ...dashboardGuards);
  http.use(QUEUE_DASHBOARD_PATH, ...dashboardGuards);
  http.route(QUEUE_DASHBOARD_PATH, createQueueDashboard(Object.values(app.queues.queues)));
}

/** The operators' token check: wrong tokens counted per client, ten in fifteen minutes block it. */
function operatorsOnly(app: App): MiddlewareHandler<HttpEnv> {
  return requireToken({
    tokens: app.config.http.opsTokens,
    realm: 'Letterpress operations',
    failures: createRateLimiter(app.redis, app.keys, {
      name: 'ops-auth',
      points: 10,
      durationSeconds: 900,
      blockSeconds: 900,
    }),
    clientAddress: (c) => clientAddress(c, app.config.http.trustedProxies),
  });
}

/** What a scrape reads, from the app. */
function snapshotDeps(app: App, probeRelays: (() => Promise<RelayProbe[]>) | undefined) {
  return {
    ping: () => app.redis.ping(),
    queues: app.queues.admin,
    metrics: app.metrics,
    heartbeats: app.heartbeats,
    digests: app.digests,
    probeRelays: probeRelays
      ? async () => (await probeRelays()).map((probe) => ({ relay: probe.relay, isUp: probe.isReachable }))
      : undefined,
    scheduledSends: { listOverdue: (now: Date) => listOverdueScheduledSends(app, now) },
    clock: app.clock,
  };
}

/** A scheduled issue still waiting a minute after its time: its send did not go out (no worker, or a refusal). */
const SCHEDULED_SEND_GRACE_MS = 60_000;

/** The scheduled issues among the recent digests whose time has passed by more than the grace. */
async function listOverdueScheduledSends(app: App, now: Date) {
  const recent = await app.digests.list(500);
  return recent
    .filter((digest) => digest.status === 'scheduled' && digest.scheduledFor !== undefined)
    .map((digest) => ({ newsletterId: digest.newsletterId, dueAt: new Date(digest.scheduledFor as string) }))
    .filter((send) => now.getTime() - send.dueAt.getTime() > SCHEDULED_SEND_GRACE_MS);
}
