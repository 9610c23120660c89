/**
 * `npm run chaos`: runs the reliability scenarios of the send path at full size (20,000 readers, 20 SIGKILLs, Redis
 * restarts, a hostile relay, a 5-minute relay outage, double sends, removals, SIGTERM, the deliver queue drained and
 * resumed) and prints one table row per scenario. `--json` prints one JSON document instead; `--only 1,3a` picks
 * scenarios; `--scale small` runs the
 * `npm test` sizes; `--recipients N` overrides the number of readers; `--final-dot-timeout-ms N` the client's wait for
 * the reply to the final dot (default: production's 600000). A full run at full size with no override also writes
 * test/chaos/last-run.md. Exits 1 when any scenario broke an invariant.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { formatZodIssues } from '../../src/errors.js';
import { repoRoot } from '../helpers/cli.js';
import { killAllStarted } from '../helpers/processes.js';
import { fullScale, scenarios, smallScale, type ScenarioResult, type ScenarioScale } from '../reliability/scenarios.js';

const FlagsSchema = z.object({
  json: z.boolean().default(false),
  only: z
    .string()
    .optional()
    .transform((value) => (value ? value.split(',').map((part) => part.trim()) : undefined))
    .refine(
      (list) => !list || list.every((item) => scenarios.some((s) => s.number === item || s.id === item)),
      `must list scenario numbers or ids: ${scenarios.map((s) => `${s.number} (${s.id})`).join(', ')}`,
    ),
  scale: z.enum(['full', 'small']).default('full'),
  recipients: z.coerce.number().int().min(10).max(1_000_000).optional(),
  'final-dot-timeout-ms': z.coerce.number().int().min(100).max(3_600_000).optional(),
  'echo-logs': z.boolean().default(false),
});

/** One row as printed and as written to JSON. */
interface ChaosRow extends ScenarioResult {
  number: string;
  id: string;
  isPassed: boolean;
}

function parseFlags(argv: string[]): z.infer<typeof FlagsSchema> {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean' },
      only: { type: 'string' },
      scale: { type: 'string' },
      recipients: { type: 'string' },
      'final-dot-timeout-ms': { type: 'string' },
      'echo-logs': { type: 'boolean' },
    },
    strict: true,
  });
  const parsed = FlagsSchema.safeParse(values);
  if (!parsed.success) throw new Error(`chaos flags: ${formatZodIssues(parsed.error)}`);
  return parsed.data;
}

function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/** The table as Markdown (readable in a terminal too). */
export function formatTable(rows: ChaosRow[]): string {
  const header = [
    'scenario',
    'recipients',
    'delivered once',
    'duplicates',
    'lost',
    'permanently failed',
    'wall time',
    'verdict',
  ];
  const lines = rows.map((row) => {
    const duplicateParts = [
      row.duplicatesAfterLostReply > 0 ? `${row.duplicatesAfterLostReply} lost 250` : '',
      row.duplicatesAtKill > 0 ? `${row.duplicatesAtKill} at a kill` : '',
    ].filter(Boolean);
    return [
      `${row.number}. ${row.scenario}`,
      String(row.recipients),
      String(row.delivered),
      duplicateParts.length > 0 ? `${row.duplicates} (${duplicateParts.join(', ')})` : String(row.duplicates),
      String(row.lost),
      String(row.failed),
      formatSeconds(row.seconds),
      row.isPassed ? 'ok' : `${row.problems.length} problem(s)`,
    ];
  });
  const table = [header, header.map(() => '---'), ...lines];
  return table.map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** Notes and problems under the table, one block per scenario. */
function formatDetails(rows: ChaosRow[]): string {
  return rows
    .map((row) => {
      const items = [
        ...row.notes.map((note) => `- ${note}`),
        ...row.problems.map((problem) => `- PROBLEM: ${problem}`),
      ];
      if (row.skipped > 0) items.push(`- ${row.skipped} removed reader(s) recorded as skipped`);
      return `${row.number}. ${row.scenario}\n${items.join('\n')}`;
    })
    .join('\n\n');
}

const DUPLICATES_EXPLAINED = `"delivered once" counts deliverable readers the relay accepted exactly once. A duplicate is a second
acceptance of the same reader's copy, always with the same Message-ID (receivers and relays can collapse it).
"lost 250": the relay accepted the message but its reply never reached the worker (stalled past
SMTP_FINAL_DOT_TIMEOUT_MS, or the connection was cut first, by either side), so the worker could only retry; SMTP
itself cannot rule this out (RFC 1047).
"at a kill": a worker was SIGKILLed after handing a whole message to the relay and before the ledger recorded its
acceptance (the relay accepted within a second of the kill, before or after it); the restarted batch sends it again.
Any other duplicate, any lost reader, any refusal not recorded and suppressed, or a digest marked sent while a
reader was pending is a PROBLEM.`;

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2));
  const base: ScenarioScale = flags.scale === 'full' ? fullScale : smallScale;
  const scale: ScenarioScale = {
    ...base,
    ...(flags.recipients ? { recipients: flags.recipients } : {}),
    ...(flags['final-dot-timeout-ms'] ? { finalDotTimeoutMs: flags['final-dot-timeout-ms'] } : {}),
    echoWorkerLogs: flags['echo-logs'],
  };
  const chosen = scenarios.filter((s) => !flags.only || flags.only.includes(s.number) || flags.only.includes(s.id));
  const startedAt = new Date();
  const rows: ChaosRow[] = [];
  const stop = () => {
    void killAllStarted().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  for (const scenario of chosen) {
    process.stderr.write(`chaos: ${scenario.number}. ${scenario.title} (${scale.recipients} readers)...\n`);
    let result: ScenarioResult;
    try {
      result = await scenario.run(scale);
    } catch (error) {
      result = {
        scenario: scenario.title,
        recipients: scale.recipients,
        delivered: 0,
        reached: 0,
        duplicates: 0,
        lost: 0,
        failed: 0,
        seconds: 0,
        duplicatesAfterLostReply: 0,
        duplicatesAtKill: 0,
        skipped: 0,
        problems: [`the scenario crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`],
        notes: [],
        facts: {},
      };
    }
    const row: ChaosRow = {
      ...result,
      number: scenario.number,
      id: scenario.id,
      isPassed: result.problems.length === 0,
    };
    rows.push(row);
    process.stderr.write(
      `chaos: ${row.number}. ${row.isPassed ? 'ok' : 'PROBLEMS'}: delivered ${row.delivered}/${row.recipients}, ` +
        `duplicates ${row.duplicates}, lost ${row.lost}, failed ${row.failed}, ${formatSeconds(row.seconds)}\n`,
    );
    for (const problem of row.problems) process.stderr.write(`chaos:    PROBLEM: ${problem}\n`);
  }
  await killAllStarted();

  const machine = `${os.cpus().length} cores, Node ${process.versions.node}, ${os.type()} ${os.release()}`;
  const parameters =
    `${scale.workers} worker processes × DELIVERY_CONCURRENCY ${scale.concurrency} × SMTP_POOL_SIZE ${scale.poolSize}, ` +
    `DELIVERY_BATCH_SIZE ${scale.batchSize}, SMTP_TIMEOUT_MS ${scale.smtpTimeoutMs}, ` +
    `SMTP_FINAL_DOT_TIMEOUT_MS ${scale.finalDotTimeoutMs}, ${scale.kills} SIGKILLs, ` +
    `relay down ${Math.round(scale.relayDownMs / 1000)} s, relay ${scale.relayInOwnProcess ? 'in its own process' : 'in process'}`;
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ startedAt: startedAt.toISOString(), machine, scale: flags.scale, parameters, rows }, null, 2)}\n`,
    );
  } else {
    process.stdout.write(`${formatTable(rows)}\n\n${formatDetails(rows)}\n\n${DUPLICATES_EXPLAINED}\n`);
  }
  if (!flags.only && !flags.recipients && !flags['final-dot-timeout-ms'] && flags.scale === 'full') {
    const document = [
      `# Chaos run of the send path`,
      '',
      `Run ${startedAt.toISOString()} with \`npm run chaos\` on ${machine}.`,
      `Parameters: ${parameters}.`,
      '',
      formatTable(rows),
      '',
      DUPLICATES_EXPLAINED,
      '',
      '## Details',
      '',
      formatDetails(rows),
      '',
    ].join('\n');
    const target = path.join(repoRoot, 'test/chaos/last-run.md');
    await writeFile(target, document);
    process.stderr.write(`chaos: wrote ${path.relative(process.cwd(), target)}\n`);
  }
  return rows.every((row) => row.isPassed) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    process.stderr.write(`chaos: ${error instanceof Error ? error.message : String(error)}\n`);
    await killAllStarted();
    process.exit(2);
  },
);
