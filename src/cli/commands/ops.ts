/** `letterpress health` and `letterpress doctor`: is it working now, and is it set up right. */
import type { Command } from 'commander';
import { z } from 'zod';
import { defineAction, parseFlags, withRedis, type CommandSink } from '../command-kit.js';

const HealthFlagsSchema = z.object({ worker: z.boolean().default(false) });

const MARKS = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;

/** Registers `health` and `doctor`. */
export function registerOpsCommands(program: Command, sink: CommandSink): void {
  const health = program
    .command('health')
    .description('readiness (Redis, configuration, relay) and workers; exit code 0 when ready')
    .option('--worker', 'only: does the newest worker on this host still beat (a container healthcheck)');
  defineAction(health, sink, async (_args, values) => {
    const flags = parseFlags(HealthFlagsSchema, values);
    return withRedis(async (redis, config) => {
      const { hostname } = await import('node:os');
      const { redisKeys } = await import('../../redis.js');
      const { RedisWorkerHeartbeats, judgeHostWorker } = await import('../../ops/worker-heartbeats.js');
      const heartbeats = new RedisWorkerHeartbeats(redis, redisKeys(config.prefix));
      const workers = await heartbeats.list(new Date()).catch(() => undefined);
      if (flags.worker) {
        const verdict = workers
          ? judgeHostWorker(workers, hostname())
          : { isHealthy: false, reason: 'Redis does not answer' };
        return {
          result: { healthy: verdict.isHealthy, reason: verdict.reason },
          text: `${verdict.isHealthy ? 'healthy' : 'unhealthy'}: ${verdict.reason}`,
          exitCode: verdict.isHealthy ? 0 : 1,
        };
      }
      const { checkReadiness } = await import('../../ops/check-readiness.js');
      const { checkRedisConfiguration } = await import('../../redis.js');
      const { silentLogger } = await import('../../logger.js');
      const { probeSmtpRelays } = await import('../../smtp/probe-relay.js');
      const { relayProbeOptions } = await import('../../smtp/smtp-mailer.js');
      const { listRelays } = await import('../../smtp/relay-list.js');
      const relayUrls = listRelays(config.smtp.url).map((relay) => relay.url);
      const readiness = await checkReadiness({
        ping: () => redis.ping(),
        checkRedisConfiguration: () =>
          checkRedisConfiguration(redis, { requirePersistence: config.requireRedisPersistence, logger: silentLogger }),
        probeRelays:
          relayUrls.length > 0 ? () => probeSmtpRelays(relayUrls, relayProbeOptions(config, 5_000)) : undefined,
      });
      const alive = workers?.filter((worker) => !worker.isStale) ?? [];
      const stale = workers?.filter((worker) => worker.isStale) ?? [];
      const lines = [
        ...readiness.checks.map((check) => `${check.isOk ? MARKS.ok : MARKS.fail}  ${check.name}: ${check.detail}`),
        `${alive.length > 0 ? MARKS.ok : MARKS.warn}  workers: ${alive.length} beating${stale.length > 0 ? `; stopped beating: ${stale.map((w) => w.id).join(', ')}` : ''}`,
      ];
      return {
        result: {
          ready: readiness.isReady,
          checks: readiness.checks,
          workers: {
            alive: alive.map(({ id, host, ageMs }) => ({ id, host, ageMs })),
            stale: stale.map(({ id, host, ageMs }) => ({ id, host, ageMs })),
          },
        },
        text: lines.join('\n'),
        exitCode: readiness.isReady ? 0 : 1,
      };
    });
  });

  const doctor = program
    .command('doctor')
    .description('check Redis, the relay, secrets, DNS (DKIM, SPF, DMARC) and workers, and say what to fix');
  defineAction(doctor, sink, async () =>
    withRedis(async (redis, config) => {
      const { promises: dns } = await import('node:dns');
      const { redisKeys, readRedisFacts } = await import('../../redis.js');
      const { RedisWorkerHeartbeats } = await import('../../ops/worker-heartbeats.js');
      const { probeSmtpRelay } = await import('../../smtp/probe-relay.js');
      const { relayProbeOptions } = await import('../../smtp/smtp-mailer.js');
      const { runDoctor } = await import('../../ops/run-doctor.js');
      const resolver = new dns.Resolver({ timeout: 2_000, tries: 1 });
      const heartbeats = new RedisWorkerHeartbeats(redis, redisKeys(config.prefix));
      const report = await runDoctor({
        config,
        readRedis: async () => {
          await redis.connect().catch((error: Error) => {
            throw new Error(`Redis does not answer: ${error.message}`);
          });
          return readRedisFacts(redis);
        },
        probeRelay: (url) => probeSmtpRelay(url, relayProbeOptions(config, 5_000)),
        resolveTxt: (name) => resolver.resolveTxt(name),
        listWorkers: () => heartbeats.list(new Date()),
      });
      const lines = report.findings.flatMap((finding) => [
        `${MARKS[finding.status]}  ${finding.area} ${finding.name}: ${finding.detail}`,
        ...(finding.fix ? [`      fix: ${finding.fix}`] : []),
      ]);
      if (report.dnsRecords.length > 0) {
        lines.push('', 'DNS records to publish for the sending domain:');
        for (const record of report.dnsRecords) lines.push(`  ${record.name}  TXT  "${record.value}"`);
      }
      const failures = report.findings.filter((finding) => finding.status === 'fail').length;
      const warnings = report.findings.filter((finding) => finding.status === 'warn').length;
      lines.push('', `${failures} to fix, ${warnings} warning(s)`);
      return { result: report, text: lines.join('\n'), exitCode: report.isHealthy ? 0 : 1 };
    }),
  );
}
