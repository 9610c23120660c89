/**
 * The dashboard and the alert rules shipped in deploy/ only use series that /metrics publishes: a renamed metric
 * would otherwise leave a panel empty or an alert silent forever. Every alert tells the person it pages what to do.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createPrometheusMetrics } from '../../src/ops/prometheus-metrics.js';
import { emptyOpsSnapshot } from '../../src/ops/read-ops-snapshot.js';
import { repoRoot } from '../helpers/cli.js';
import { declaredMetricNames } from './prometheus-text.js';

/** The series a PromQL expression names (histogram suffixes mapped to the histogram). */
function seriesIn(expression: string): string[] {
  const names = expression.match(/\b(letterpress|process|nodejs)_[a-z0-9_]+/g) ?? [];
  return names.map((name) => name.replace(/_(bucket|sum|count)$/, ''));
}

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: { severity?: string };
  annotations?: { summary?: string; description?: string };
}

describe('deploy/: the Grafana dashboard and the Prometheus alert rules', () => {
  it('reference only series that /metrics publishes, and use each of the ones an operator needs', async () => {
    const published = declaredMetricNames(await createPrometheusMetrics().render(emptyOpsSnapshot(true)));
    const dashboard = JSON.parse(
      await readFile(path.join(repoRoot, 'deploy/grafana/letterpress-dashboard.json'), 'utf8'),
    ) as {
      panels: { title: string; type: string; targets?: { expr: string }[] }[];
    };
    const rules = parse(await readFile(path.join(repoRoot, 'deploy/prometheus/letterpress-alerts.yml'), 'utf8')) as {
      groups: { rules: AlertRule[] }[];
    };
    const expressions = [
      ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)),
      ...rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr)),
    ];
    const referenced = new Set(expressions.flatMap(seriesIn));
    expect([...referenced].filter((name) => !published.has(name))).toEqual([]);
    for (const needed of [
      'letterpress_deliveries_total',
      'letterpress_queue_jobs',
      'letterpress_send_duration_seconds',
      'letterpress_digest_paused',
      'letterpress_workers',
      'letterpress_relay_set_aside',
      'letterpress_feed_failing_since_timestamp_seconds',
      'letterpress_scheduled_send_overdue_seconds',
    ]) {
      expect(referenced, needed).toContain(needed);
    }
    for (const panel of dashboard.panels.filter((candidate) => candidate.type !== 'row')) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
  });

  it('page a person for a paused digest, a missed scheduled send, a failing feed, a relay set aside and absent workers', async () => {
    const rules = parse(await readFile(path.join(repoRoot, 'deploy/prometheus/letterpress-alerts.yml'), 'utf8')) as {
      groups: { rules: AlertRule[] }[];
    };
    const alerts = rules.groups.flatMap((group) => group.rules);
    const byName = new Map(alerts.map((rule) => [rule.alert, rule]));
    for (const name of [
      'LetterpressDigestPaused',
      'LetterpressScheduledSendMissed',
      'LetterpressFeedFailing',
      'LetterpressRelaySetAside',
      'LetterpressWorkersAbsent',
    ]) {
      expect(byName.get(name), name).toBeDefined();
    }
    expect(byName.get('LetterpressFeedFailing')?.expr).toContain('3600');
    for (const rule of alerts) {
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      expect(['page', 'ticket']).toContain(rule.labels?.severity);
    }
  });
});
