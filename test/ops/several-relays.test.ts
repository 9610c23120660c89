/**
 * What operators see of several relays: `/readyz` is ready while one relay answers and names none by host,
 * `/metrics` shows each relay's health and connections from the workers' heartbeats, and the doctor reports each.
 * Real Redis (own prefix), real SMTP servers on loopback ports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createHttpApp } from '../../src/http/server.js';
import { silentLogger } from '../../src/logger.js';
import { startHeartbeat } from '../../src/ops/run-heartbeat.js';
import { judgeRelays } from '../../src/ops/read-ops-snapshot.js';
import { runDoctor } from '../../src/ops/run-doctor.js';
import type { ObservedWorker } from '../../src/ops/worker-heartbeats.js';
import { probeSmtpRelay } from '../../src/smtp/probe-relay.js';
import { relayProbeOptions } from '../../src/smtp/smtp-mailer.js';
import { openTestRedis, TEST_REDIS_URL } from '../helpers/redis.js';
import { startSmtpSink } from '../helpers/smtp-sink.js';
import { parsePrometheusText } from './prometheus-text.js';

const OPS = { name: 'ada', token: 'ada-ops-token-0123456789abcdef-0123456789' };

describe('several relays, as operators see them', () => {
  let cleanup: () => Promise<void>;
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;
  let deadPort: number;
  let halfUp: App;
  let allDown: App;

  beforeAll(async () => {
    const redis = await openTestRedis('ops-relays');
    cleanup = redis.cleanup;
    sink = await startSmtpSink();
    const dead = await startSmtpSink();
    deadPort = dead.port;
    await dead.close();
    const env = {
      REDIS_URL: TEST_REDIS_URL,
      LETTERPRESS_PREFIX: redis.prefix,
      OPS_TOKENS: `${OPS.name}:${OPS.token}`,
      SMTP_CONNECT_TIMEOUT_MS: '1000',
    };
    const dead1 = `smtp://127.0.0.1:${deadPort}`;
    halfUp = await createApp(loadConfig({ ...env, SMTP_URL: `${sink.url}?weight=2,${dead1}` }), {
      logger: silentLogger,
    });
    allDown = await createApp(loadConfig({ ...env, SMTP_URL: `${dead1},smtp://127.0.0.1:1` }), {
      logger: silentLogger,
    });
  });
  afterAll(async () => {
    await halfUp?.close();
    await allDown?.close();
    await sink?.close();
    await cleanup();
  });

  it('/readyz is ready while one relay of two answers, says how many, and names no host', async () => {
    const ready = await createHttpApp(halfUp).request('/readyz');
    const body = await ready.text();
    expect(ready.status).toBe(200);
    expect(JSON.parse(body).checks).toContainEqual({
      name: 'relay',
      isOk: true,
      detail: '1 of 2 relays answer (cannot be used: relay 2: ECONNECTION)',
    });
    expect(body).not.toContain('127.0.0.1');

    const down = await createHttpApp(allDown).request('/readyz');
    expect(down.status).toBe(503);
    expect(JSON.parse(await down.text()).checks).toContainEqual({
      name: 'relay',
      isOk: false,
      detail: '0 of 2 relays answer (cannot be used: relay 1: ECONNECTION, relay 2: ECONNECTION)',
    });
  });

  it('/metrics shows each relay up or not, set aside or not, and its connections, from the workers’ heartbeats', async () => {
    for (let n = 0; n < 6; n += 1) {
      await halfUp.mailer.send({
        envelope: { from: 'news@harbourgazette.example', to: `reader-${n}@example.org` },
        raw: Buffer.from('Subject: Today\r\n\r\nHello\r\n'),
      });
    }
    const heartbeat = await startHeartbeat(halfUp, { everyMs: 60_000, kinds: ['deliver'] });
    try {
      const response = await createHttpApp(halfUp).request('/metrics', {
        headers: { authorization: `Bearer ${OPS.token}` },
      });
      const samples = parsePrometheusText(await response.text());
      const value = (name: string, relay: string) =>
        samples.find((sample) => sample.name === name && sample.labels.relay === relay)?.value;
      const live = `127.0.0.1:${sink.port}`;
      const dead = `127.0.0.1:${deadPort}`;
      expect(sink.messages).toHaveLength(6);
      expect([value('letterpress_relay_up', live), value('letterpress_relay_up', dead)]).toEqual([1, 0]);
      expect([value('letterpress_relay_set_aside', live), value('letterpress_relay_set_aside', dead)]).toEqual([0, 1]);
      expect(value('letterpress_relay_connections', live)).toBeGreaterThanOrEqual(1);
      expect(value('letterpress_relay_connections', dead)).toBe(0);
    } finally {
      await heartbeat.stop();
    }
  });

  it('the doctor reports each relay, and warns (not fails) while another one carries the mail', async () => {
    const config = halfUp.config;
    const report = await runDoctor({
      config,
      readRedis: async () => ({ version: '7.2.0', maxmemoryPolicy: 'noeviction', appendonly: 'yes' }),
      probeRelay: (url) => probeSmtpRelay(url, relayProbeOptions(config, 1_000)),
      resolveTxt: async () => [],
      listWorkers: async () => [],
    });
    const relayFindings = report.findings.filter((finding) => finding.area === 'relay');
    expect(relayFindings[0]).toMatchObject({
      name: 'relays',
      status: 'warn',
      detail: '1 of 2 relays usable (weights 2:1)',
    });
    expect(relayFindings).toContainEqual(expect.objectContaining({ name: 'SMTP_URL[1] EHLO', status: 'ok' }));
    expect(relayFindings).toContainEqual(
      expect.objectContaining({
        name: 'SMTP_URL[2] session',
        status: 'warn',
        detail: expect.stringContaining(`127.0.0.1:${deadPort}: failed connecting (ECONNECTION`),
        fix: 'check the host and port in SMTP_URL[2] and that the relay is running',
      }),
    );
  });

  it('adds up each relay’s connections over the live workers, set aside when any worker set it aside', () => {
    const worker = (id: string, relays: ObservedWorker['relays'], isStale = false): ObservedWorker => ({
      id,
      host: 'h',
      pid: 1,
      kinds: ['deliver'],
      startedAt: '2026-12-01T08:00:00.000Z',
      beatAt: '2026-12-01T08:00:00.000Z',
      beatEveryMs: 10_000,
      rssBytes: 1,
      relays,
      ageMs: 0,
      isStale,
    });
    const at = '2026-12-01T08:00:00.000Z';
    const figures = judgeRelays(
      [
        worker('w1', [
          { relay: 'a:25', consecutiveUnavailable: 0, isSetAside: false, connections: 2, lastOkAt: at },
          { relay: 'b:25', consecutiveUnavailable: 0, isSetAside: false, connections: 0 },
        ]),
        worker('w2', [
          { relay: 'a:25', consecutiveUnavailable: 0, isSetAside: false, connections: 3, lastOkAt: at },
          { relay: 'b:25', consecutiveUnavailable: 1, isSetAside: true, connections: 0, lastUnavailableAt: at },
        ]),
        worker('gone', [{ relay: 'a:25', consecutiveUnavailable: 0, isSetAside: true, connections: 9 }], true),
      ],
      undefined,
    );
    expect(figures).toEqual([
      { relay: 'a:25', isUp: true, isSetAside: false, connections: 5 },
      { relay: 'b:25', isUp: false, isSetAside: true, connections: 0 },
    ]);
    // A relay listed but not used yet by any worker: nobody knows whether it answers.
    expect(
      judgeRelays([worker('w', [{ relay: 'c:25', consecutiveUnavailable: 0, isSetAside: false, connections: 0 }])], []),
    ).toEqual([{ relay: 'c:25', isUp: undefined, isSetAside: false, connections: 0 }]);
  });
});
