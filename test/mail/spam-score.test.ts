/**
 * What a receiving server's content filter makes of our mail: SpamAssassin, local rules only (no DNS, no Bayes, no
 * learning), so the score depends only on the message and the installed rules. `.ci/run` installs SpamAssassin;
 * where it is missing the tests say they are skipped.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import {
  renderSampleIssue,
  SAMPLE_LETTER,
  sampleConfirmationMessage,
  sampleIssueMessage,
} from '../helpers/sample-issue.js';

/** Highest score we accept: far below any spam threshold (5), and above the 0.0–0.1 of a plain newsletter. */
const MAX_SCORE = 0.5;

const HAS_SPAMASSASSIN = spawnSync('spamassassin', ['--version']).status === 0;

// SpamAssassin writes its per-user state under HOME; give it a folder of its own with an empty preferences file.
const home = mkdtempSync(join(tmpdir(), 'lp-spamassassin-'));
const prefs = join(home, 'user_prefs');
writeFileSync(prefs, '');

afterAll(() => rmSync(home, { recursive: true, force: true }));

interface SpamVerdict {
  score: number;
  rules: string[];
  /** SpamAssassin's own table of the rules hit, for the failure message. */
  report: string;
}

/** Runs one message through `spamassassin -L -t` (local tests only, report appended) and reads its verdict. */
function scoreMessage(raw: Buffer): SpamVerdict {
  const run = spawnSync(
    'spamassassin',
    [
      '-L',
      '-t',
      '-p',
      prefs,
      '--cf=use_bayes 0',
      '--cf=bayes_auto_learn 0',
      '--cf=report_safe 0',
      '--cf=dns_available no',
    ],
    { input: raw, encoding: 'utf8', env: { ...process.env, HOME: home }, timeout: 60_000, maxBuffer: 20_000_000 },
  );
  if (run.error) throw run.error;
  const output = run.stdout;
  const header = /^X-Spam-Status: (.*(?:\r?\n[ \t].*)*)/m.exec(output)?.[1];
  if (!header) throw new Error(`no X-Spam-Status header in SpamAssassin's output:\n${run.stderr}`);
  const unfolded = header.replace(/\r?\n[ \t]+/g, ' ');
  const score = Number(/score=(-?[\d.]+)/.exec(unfolded)?.[1]);
  const tests = /tests=(.*?)\s+autolearn=/.exec(unfolded)?.[1] ?? '';
  const rules = tests
    .split(',')
    .map((rule) => rule.trim())
    .filter((rule) => rule && rule !== 'none');
  const reportStart = output.indexOf('Content analysis details');
  return { score, rules, report: reportStart === -1 ? unfolded : output.slice(reportStart).trim() };
}

function expectLowScore(context: TestContext, raw: Buffer): void {
  if (!HAS_SPAMASSASSIN) {
    context.skip('spamassassin is not installed; spam score not checked');
    return;
  }
  const verdict = scoreMessage(raw);
  expect(Number.isFinite(verdict.score), verdict.report).toBe(true);
  expect(
    verdict.score,
    `SpamAssassin scored ${verdict.score} (rules hit: ${verdict.rules.join(', ')})\n${verdict.report}`,
  ).toBeLessThanOrEqual(MAX_SCORE);
}

describe('a content filter on the receiving side (SpamAssassin, local rules)', () => {
  it('scores the sample digest of twelve articles as clean', async (context) => {
    expectLowScore(context, sampleIssueMessage(await renderSampleIssue()));
  });

  it('scores a letter issue as clean', async (context) => {
    expectLowScore(context, sampleIssueMessage(await renderSampleIssue({ letter: SAMPLE_LETTER })));
  });

  it('scores the sign-up confirmation as clean', async (context) => {
    expectLowScore(context, await sampleConfirmationMessage());
  });
});
