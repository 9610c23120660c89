/** The benchmark's command-line flags, parsed at the edge through one zod schema. */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { AppError, formatZodIssues } from '../src/errors.js';

const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every flag `npm run bench` takes. */
export const BenchOptionsSchema = z.object({
  /** Subscribers seeded and sent to on the real path. @defaultValue 100000 */
  subscribers: count(1, 10_000_000).default(100_000),
  /** `letterpress worker` processes. @defaultValue 2 */
  workers: count(1, 32).default(2),
  /** SMTP connections in total: split evenly across worker processes; the bare-nodemailer baseline gets them all. @defaultValue 20 */
  connections: count(1, 400).default(20),
  /** Messages the bare-nodemailer baseline sends. @defaultValue 20000 */
  baselineMessages: count(1, 10_000_000).default(20_000),
  /** Messages the tutorial pipeline sends. @defaultValue min(2000, baselineMessages) */
  tutorialMessages: count(1, 1_000_000).optional(),
  /** Recipients per delivery job on the real path (DELIVERY_BATCH_SIZE). Unset: the app's default. */
  batchSize: count(1, 10_000).optional(),
  /** Delivery jobs one worker process runs at once (DELIVERY_CONCURRENCY). Unset: the app's default. */
  concurrency: count(1, 64).optional(),
  /**
   * Run whatever code `bin/letterpress.js` picks without building first (the sources, unless a fresh build exists).
   * By default the benchmark runs `npm run build` when the compiled build is missing or stale, so that it measures
   * what production runs. @defaultValue false
   */
  skipBuild: z.boolean().default(false),
  /** Runs of each command when timing how fast a command starts (after one warm-up round). @defaultValue 7 */
  cliRuns: count(1, 50).default(7),
  /** Skip both baselines. @defaultValue false */
  skipBaselines: z.boolean().default(false),
  /** Print one JSON document on stdout instead of the Markdown table. @defaultValue false */
  json: z.boolean().default(false),
  /** Where the JSON result and the Markdown table are written. @defaultValue bench/results */
  out: z.string().min(1).default('bench/results'),
  /** Folder for V8 CPU profiles of the worker processes (node --cpu-prof). Unset: no profiling. */
  cpuProf: z.string().min(1).optional(),
  /**
   * Node/V8 flags for the worker processes only (as NODE_OPTIONS), e.g. `--max-semi-space-size=2
   * --max-old-space-size=96` to bound their memory. Unset: Node's defaults.
   */
  workerNodeOptions: z.string().min(1).optional(),
  /**
   * Also send the digest through the real path with an RSA-2048 DKIM key (Ed25519 off), in the same session, and
   * report signed over unsigned throughput (`dkim.dkimVsUnsigned`) and how many sampled signed messages verify.
   * @defaultValue false
   */
  dkim: z.boolean().default(false),
  /** Run the import/export benchmark with this many CSV rows instead of the delivery benchmark. Unset: delivery. */
  import: count(1, 10_000_000).optional(),
  /**
   * Run the rate-limit benchmark at this many messages per second (SEND_RATE_PER_SECOND, shared by `--workers`
   * processes) instead of the delivery benchmark. Unset: delivery.
   */
  rateLimit: count(1, 100_000).optional(),
  /** How long the rate-limited send lasts (readers = rate × seconds). @defaultValue 12 */
  rateSeconds: count(2, 3_600).default(12),
});
export type BenchOptions = z.infer<typeof BenchOptionsSchema> & { tutorialMessages: number };

/** Usage text for `--help`. */
export const benchUsage = `usage: npm run bench -- [flags]
  --subscribers N        subscribers seeded and sent to on the real path (default 100000)
  --workers K            letterpress worker processes (default 2)
  --connections C        SMTP connections in total, split across workers; baseline 1 gets all C (default 20)
  --baseline-messages M  messages sent by the bare-nodemailer baseline (default 20000)
  --tutorial-messages T  messages sent by the tutorial pipeline (default min(2000, M))
  --batch-size B         recipients per delivery job (default: the app's DELIVERY_BATCH_SIZE)
  --concurrency J        delivery jobs per worker process (default: the app's DELIVERY_CONCURRENCY)
  --skip-baselines       measure only the real path
  --dkim                 also run the real path DKIM-signed (RSA-2048) and report signed/unsigned throughput
  --cli-runs R           runs of each command when timing command start (default 7)
  --skip-build           do not build first (by default a missing or stale dist/ is built: production runs it)
  --json                 print one JSON document on stdout
  --out DIR              where results go: bench-<time>.json, latest.json, latest.md (default bench/results)
  --cpu-prof DIR         write V8 CPU profiles of the workers into DIR
  --worker-node-options="FLAGS"
                         Node/V8 flags for the worker processes only (note the =), e.g.
                         --worker-node-options="--max-semi-space-size=2 --max-old-space-size=96"
  --import N             instead: import N CSV rows and export them (subscribers import/export), with baselines
  --rate-limit R         instead: send at R messages/s shared by the workers and report each second's count
  --rate-seconds S       how long that send lasts: R × S readers (default 12)`;

/** Parses argv (without node and the script) or throws `input_invalid` naming the flag and the reason. */
export function parseBenchOptions(argv: string[]): BenchOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        subscribers: { type: 'string' },
        workers: { type: 'string' },
        connections: { type: 'string' },
        'baseline-messages': { type: 'string' },
        'tutorial-messages': { type: 'string' },
        'batch-size': { type: 'string' },
        concurrency: { type: 'string' },
        'skip-baselines': { type: 'boolean' },
        dkim: { type: 'boolean' },
        'skip-build': { type: 'boolean' },
        'cli-runs': { type: 'string' },
        json: { type: 'boolean' },
        out: { type: 'string' },
        'cpu-prof': { type: 'string' },
        'worker-node-options': { type: 'string' },
        import: { type: 'string' },
        'rate-limit': { type: 'string' },
        'rate-seconds': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new AppError('input_invalid', `bench flags: ${(error as Error).message}`);
  }
  if (values.help) return 'help';
  const parsed = BenchOptionsSchema.safeParse({
    subscribers: values.subscribers,
    workers: values.workers,
    connections: values.connections,
    baselineMessages: values['baseline-messages'],
    tutorialMessages: values['tutorial-messages'],
    batchSize: values['batch-size'],
    concurrency: values.concurrency,
    skipBaselines: values['skip-baselines'],
    dkim: values.dkim,
    skipBuild: values['skip-build'],
    cliRuns: values['cli-runs'],
    json: values.json,
    out: values.out,
    cpuProf: values['cpu-prof'],
    workerNodeOptions: values['worker-node-options'],
    import: values.import,
    rateLimit: values['rate-limit'],
    rateSeconds: values['rate-seconds'],
  });
  if (!parsed.success)
    throw new AppError(
      'input_invalid',
      `bench flags: ${formatZodIssues(parsed.error).replace(/([a-z])([A-Z])/g, (_, a: string, b: string) => `${a}-${b.toLowerCase()}`)}`,
    );
  return {
    ...parsed.data,
    tutorialMessages: parsed.data.tutorialMessages ?? Math.min(2_000, parsed.data.baselineMessages),
  };
}
