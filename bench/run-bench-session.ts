/**
 * One benchmark session (what `npm run bench` runs): seeds N subscribers, ingests the demo's 12-article feed, builds one digest and sends it through
 * the real path (fan-out job, K `letterpress worker` processes, ledger, SMTP) to a counting SMTP sink in its own
 * process, against a private Redis. Two baselines run in the same session against the same sink with the same
 * digest: a bare nodemailer loop and the tutorial pipeline (one BullMQ job per reader rendering MJML).
 * Prints a Markdown table (or one JSON document with `--json`) and writes both to `--out`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { ingestSources } from '../src/articles/ingest-sources.js';
import { createApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createDigest } from '../src/digests/create-digest.js';
import { createLogger } from '../src/logger.js';
import {
  checkDkimTargets,
  checkTargets,
  computeRatios,
  formatReportMarkdown,
  type BaselineFigures,
  type BenchReport,
} from './bench-report.js';
import type { BenchOptions } from './bench-options.js';
import { writeBenchFixture } from './bench-fixture.js';
import { measureBareNodemailer, measureTutorialPipeline, type BaselineContext } from './measure-baselines.js';
import { measureCliStart } from './measure-cli-start.js';
import { measureDkimPath } from './measure-dkim-path.js';
import { measureRealPath, seedSubscribers, type RealPathContext } from './measure-real-path.js';
import { chooseEntry } from '../bin/choose-entry.js';
import { startPrivateRedis, type PrivateRedis } from '../src/private-redis.js';
import { repoRoot, startSinkProcess, type SinkProcess } from './sink-process.js';

/** The demo's own feed: 12 articles of a small independent newsroom. */
const SAMPLE_FEED = join(repoRoot, 'src/demo/sample-feed.xml');

/** Runs the whole benchmark and returns its report. Progress goes to `progress` (stderr by default). */
export async function runBench(
  options: BenchOptions,
  progress: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<BenchReport> {
  const startedAt = new Date();
  const loadAverageAtStart = loadavg();
  const cleanups: (() => Promise<void>)[] = [];
  try {
    progress('starting a private Redis and the SMTP sink');
    // Its own port and temp dir, no persistence: the CPU time and memory it reports belong to the benchmark alone.
    const redis: PrivateRedis = await startPrivateRedis({ appendonly: false });
    cleanups.unshift(() => redis.close());
    const sink: SinkProcess = await startSinkProcess();
    cleanups.unshift(() => sink.stop());
    const temp = await mkdtemp(join(tmpdir(), 'lp-bench-'));
    cleanups.unshift(() => rm(temp, { recursive: true, force: true }));

    const perWorkerConnections = Math.max(1, Math.floor(options.connections / options.workers));
    const workerEnv: Record<string, string> = {
      REDIS_URL: redis.url,
      LETTERPRESS_PREFIX: 'bench',
      SMTP_URL: sink.smtpUrl,
      SMTP_POOL_SIZE: String(perWorkerConnections),
      LETTERPRESS_SECRET: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'warn',
      NODE_ENV: 'development',
      ...(options.batchSize ? { DELIVERY_BATCH_SIZE: String(options.batchSize) } : {}),
      ...(options.concurrency ? { DELIVERY_CONCURRENCY: String(options.concurrency) } : {}),
    };
    const config = loadConfig(workerEnv);
    const app: App = await createApp(config, { logger: createLogger('error', 'letterpress-bench') });
    cleanups.unshift(() => app.close());

    progress('ingesting the sample feed and building the digest');
    const ingest = await ingestSources(
      {
        store: app.articles,
        logger: app.logger,
        maxBytes: config.feed.maxBytes,
        fetchTimeoutMs: config.feed.fetchTimeoutMs,
        allowPrivateAddresses: config.feed.allowPrivateAddresses,
        allowFilePaths: true,
      },
      [SAMPLE_FEED],
    );
    const rejected = ingest.rejected[0];
    if (rejected) throw new Error(`the sample feed was rejected: ${rejected.reason}`);
    const newsletter = config.newsletters[0];
    if (!newsletter) throw new Error('no newsletter configured');
    const issueDate = new Date();
    const digest = await createDigest(
      { articles: app.articles, digests: app.digests, lastSentAt: (id) => app.lastSentAt(id), clock: () => issueDate },
      { newsletter, site: config.site },
    );
    const body = await app.digests.getBody(digest.id);
    if (!body) throw new Error('the digest has no body');
    const fixturePath = join(temp, 'fixture.json');
    await writeBenchFixture(fixturePath, {
      digestId: digest.id,
      newsletter,
      site: config.site,
      articles: await app.articles.getMany(digest.articleIds),
      issueDate: issueDate.toISOString(),
      secret: config.secret,
      body,
    });

    const baselines: BenchReport['baselines'] = { bareNodemailer: null, tutorialPipeline: null };
    if (!options.skipBaselines) {
      const context: BaselineContext = {
        sink,
        redis,
        fixturePath,
        connections: perWorkerConnections * options.workers,
        workers: options.workers,
        concurrency: config.delivery.concurrency,
        progress,
      };
      progress(`baseline 1: bare nodemailer, ${options.baselineMessages.toLocaleString('en-US')} messages`);
      baselines.bareNodemailer = await measureBareNodemailer(context, options.baselineMessages);
      progress(`baseline 2: tutorial pipeline, ${options.tutorialMessages.toLocaleString('en-US')} messages`);
      baselines.tutorialPipeline = await measureTutorialPipeline(context, options.tutorialMessages);
    }

    progress(`seeding ${options.subscribers.toLocaleString('en-US')} subscribers`);
    const seedMs = await seedSubscribers(app, newsletter.id, options.subscribers, progress);
    progress(`real path: ${options.workers} workers, ${perWorkerConnections} connections each`);
    const realPath: RealPathContext = {
      app,
      config,
      workerEnv,
      sink,
      redis,
      digestId: digest.id,
      newsletterId: newsletter.id,
      subscribers: options.subscribers,
      workers: options.workers,
      connections: perWorkerConnections * options.workers,
      cpuProfDir: options.cpuProf ? resolve(options.cpuProf) : undefined,
      workerNodeOptions: options.workerNodeOptions,
      progress,
    };
    const ours = await measureRealPath(realPath, seedMs);
    // The signed run right after the unsigned one: same readers, same articles, same machine minutes.
    const dkim = options.dkim ? await measureDkimPath(realPath, ours, { digest, temp, seedMs }) : undefined;

    const code = chooseEntry(repoRoot).kind;
    progress(`command start: ${code === 'dist' ? 'the compiled build' : 'the sources through tsx'}`);
    const startup = await measureCliStart(
      { REDIS_URL: redis.url, LETTERPRESS_PREFIX: 'bench', LOG_LEVEL: 'warn', NODE_ENV: 'development' },
      code,
      options.cliRuns,
    );
    const ratios = computeRatios(ours, baselines);
    const redisVersion = await readRedisVersion(redis.url);
    const notes = buildNotes(options, ours.subscribers, baselines, ours.messageBytes);
    return {
      kind: 'letterpress-bench',
      version: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
        node: process.versions.node,
        redis: redisVersion,
        totalMemoryBytes: totalmem(),
        loadAverageAtStart,
      },
      options: { ...options },
      ours,
      startup,
      baselines,
      ratios,
      ...(dkim ? { dkim } : {}),
      targets: [...checkTargets(ours, ratios, startup), ...(dkim ? checkDkimTargets(dkim) : [])],
      notes,
    };
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  }
}

async function readRedisVersion(url: string): Promise<string> {
  const redis = new Redis(url);
  try {
    return /^redis_version:(\S+)/m.exec(await redis.info('server'))?.[1] ?? 'unknown';
  } finally {
    redis.disconnect();
  }
}

function buildNotes(
  options: BenchOptions,
  subscribers: number,
  baselines: BenchReport['baselines'],
  bytes: number,
): string[] {
  const notes = [
    'Deliveries/s is the median of per-second acceptance counts between 10 % and 90 % of the run; latency is from the send request (baselines: from the start of the run) to acceptance by the sink.',
    'CPU is user + system time from /proc of the sending processes and Redis over the measured interval; the sink is excluded (it is reported in the JSON).',
    `Message size is the bytes the sink received per message (${(bytes / 1024).toFixed(1)} KB here); all runs send the same digest.`,
  ];
  const describe = (name: string, figures: BaselineFigures | null, total: number) =>
    figures && figures.messages < subscribers
      ? `${name} ran on a sample of ${total.toLocaleString('en-US')} messages (${figures.description}).`
      : figures
        ? `${name}: ${figures.description}.`
        : undefined;
  const bare = describe('Baseline 1', baselines.bareNodemailer, options.baselineMessages);
  const tutorial = describe('Baseline 2', baselines.tutorialPipeline, options.tutorialMessages);
  if (bare) notes.push(bare);
  if (tutorial) notes.push(tutorial);
  if (options.skipBaselines) notes.push('Baselines skipped (--skip-baselines): ratios are not available.');
  if (options.workerNodeOptions) notes.push(`Worker processes ran with NODE_OPTIONS="${options.workerNodeOptions}".`);
  if (subscribers < 1_000_000) {
    notes.push(
      'Million-reader figures are projected from this run: its own time plus the remaining readers at the steady rate; fan-out scaled linearly.',
    );
  }
  return notes;
}

/** Writes the JSON and Markdown results into `outDir`: a timestamped JSON, latest.json and latest.md. */
export async function writeResults(report: BenchReport, outDir: string): Promise<{ json: string; markdown: string }> {
  await mkdir(outDir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const json = join(outDir, `bench-${stamp}.json`);
  const text = `${JSON.stringify(report, null, 2)}\n`;
  await writeFile(json, text);
  await writeFile(join(outDir, 'latest.json'), text);
  const markdown = join(outDir, 'latest.md');
  await writeFile(markdown, formatReportMarkdown(report));
  return { json, markdown };
}
