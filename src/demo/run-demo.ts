/**
 * The demo: the main job end to end on embedded defaults. Ingests the bundled sample feed, subscribes sample
 * readers, builds a digest, sends it through the real queue and workers to the embedded capture server, and writes
 * every received message as `.eml` plus an `index.html` linking the HTML previews.
 */
import { readdir, rm, writeFile, readFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { createApp } from '../app.js';
import { startCaptureServer } from '../capture/capture-server.js';
import { loadConfig } from '../config.js';
import { ingestSources } from '../articles/ingest-sources.js';
import { createDigest } from '../digests/create-digest.js';
import { sendDigest } from '../delivery/send-digest.js';
import { waitForDigestSettled } from '../delivery/wait-for-digest.js';
import { escapeHtml } from '../escape-html.js';
import { silentLogger } from '../logger.js';
import { deletePrefix } from '../redis.js';
import { runWorkers } from '../../workers/run-workers.js';
import { resolveDemoRedisFromEnv, type ResolvedRedis } from './resolve-redis.js';

/** The bundled sample feed of a fictional newsroom. */
export const SAMPLE_FEED_PATH = fileURLToPath(new URL('./sample-feed.xml', import.meta.url));

/** The sample readers the demo subscribes (reserved example domains: nothing can leave the machine). */
export const SAMPLE_READERS = [
  'ada.lovelace@example.org',
  'grace.hopper@example.net',
  'ken.thompson@example.com',
  'margaret.hamilton@example.org',
  'dennis.ritchie@example.net',
];

/** Names of the files the demo (through the capture server) writes. */
const DEMO_FILE = /^(?:\d{5}-[a-z0-9@._-]+\.(?:eml|html)|index\.html)$/;

/** Options of the demo. */
export interface DemoOptions {
  /** Folder for the captured messages and index.html. @defaultValue ./demo-out */
  outDir: string;
  /** Keep the demo's Redis keys afterwards (they are deleted by default). @defaultValue false */
  keepData: boolean;
  env: Record<string, string | undefined>;
}

/** What the demo did. */
export interface DemoSummary {
  digestId: string;
  subject: string;
  articles: number;
  subscribers: number;
  delivered: number;
  failed: number;
  out: string;
  index: string;
  redis: ResolvedRedis['origin'];
  prefix: string;
  text: string;
}

/** Runs the demo and returns its summary. */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const outDir = resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  // Remove only what an earlier demo run wrote here (numbered messages, their previews, the index), nothing else.
  for (const name of await readdir(outDir)) {
    if (DEMO_FILE.test(name)) await rm(join(outDir, name));
  }

  const redis = await resolveDemoRedisFromEnv(options.env);
  const capture = await startCaptureServer({ directory: outDir });
  const prefix = `demo-${randomBytes(4).toString('hex')}`;
  const config = loadConfig({
    ...options.env,
    ...(redis.url ? { REDIS_URL: redis.url } : {}),
    SMTP_URL: capture.url,
    LETTERPRESS_PREFIX: prefix,
    NODE_ENV: 'development',
  });
  const app = await createApp(config, { logger: silentLogger });
  const workers = await runWorkers(app, { handleSignals: false });
  // Ctrl-C stops waiting, and the cleanup below still runs (keys, capture server, private Redis).
  const interrupted = new AbortController();
  const onSignal = () => interrupted.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const report = await ingestSources(
      {
        store: app.articles,
        logger: app.logger,
        maxBytes: config.feed.maxBytes,
        fetchTimeoutMs: config.feed.fetchTimeoutMs,
        allowPrivateAddresses: config.feed.allowPrivateAddresses,
        allowFilePaths: true,
      },
      [SAMPLE_FEED_PATH],
    );
    const firstRejection = report.rejected[0];
    if (firstRejection) throw new Error(`the sample feed was rejected: ${firstRejection.reason}`);
    const newsletter = config.newsletters[0];
    if (!newsletter) throw new Error('no newsletter configured');
    for (const email of SAMPLE_READERS) {
      await app.subscribers.add({ email, newsletterIds: [newsletter.id], status: 'active' });
    }
    const digest = await createDigest(
      { articles: app.articles, digests: app.digests, lastSentAt: (id) => app.lastSentAt(id), clock: () => new Date() },
      { newsletter, site: config.site },
    );
    await sendDigest(app, { digestId: digest.id });
    const settled = await waitForDigestSettled(app, digest.id, { timeoutMs: 120_000, signal: interrupted.signal });
    if (interrupted.signal.aborted) throw new Error('interrupted: the demo stopped before the digest was sent');
    if (settled.status !== 'sent') throw new Error(`the digest is ${settled.status} after two minutes, not sent`);
    const index = await writePreviews(outDir, settled.subject);
    const lines = [
      `Letterpress demo: "${settled.subject}"`,
      `  articles    ${digest.articleIds.length} (from ${report.ingested + report.updated + report.unchanged} ingested from the sample feed)`,
      `  subscribers ${SAMPLE_READERS.length}`,
      `  delivered   ${settled.counts.delivered}${settled.counts.failed ? `, failed ${settled.counts.failed}` : ''}`,
      `  digest      ${digest.id} (${settled.status})`,
      `  look at     ${index} (HTML previews) and the .eml files beside it`,
    ];
    return {
      digestId: digest.id,
      subject: settled.subject,
      articles: digest.articleIds.length,
      subscribers: SAMPLE_READERS.length,
      delivered: settled.counts.delivered,
      failed: settled.counts.failed,
      out: outDir,
      index,
      redis: redis.origin,
      prefix,
      text: lines.join('\n'),
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await workers.close();
    if (!options.keepData) await deletePrefix(app.redis, prefix);
    await app.close();
    await capture.close();
    await redis.stop();
  }
}

/** Writes each captured message's HTML part beside its .eml, and an index.html linking them. */
async function writePreviews(outDir: string, subject: string): Promise<string> {
  const files = (await readdir(outDir)).filter((name) => name.endsWith('.eml')).sort();
  const rows: string[] = [];
  for (const file of files) {
    const parsed = await simpleParser(await readFile(join(outDir, file)));
    const htmlFile = file.replace(/\.eml$/, '.html');
    await writeFile(join(outDir, htmlFile), typeof parsed.html === 'string' ? parsed.html : '<p>(no HTML part)</p>');
    const to = Array.isArray(parsed.to) ? parsed.to.map((a) => a.text).join(', ') : (parsed.to?.text ?? '');
    rows.push(
      `<li><a href="${escapeHtml(htmlFile)}">${escapeHtml(to)}</a> · <a href="${escapeHtml(file)}">raw .eml</a></li>`,
    );
  }
  const index = join(outDir, 'index.html');
  await writeFile(
    index,
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Letterpress demo: ${escapeHtml(subject)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}</style></head>
<body><h1>Letterpress demo</h1><p>${escapeHtml(subject)}: ${files.length} messages captured (nothing was sent to the internet).</p>
<ul>${rows.join('\n')}</ul></body></html>
`,
  );
  return index;
}
