/** `letterpress digest ...`: build, preview, send, watch and steer a digest. */
import type { Command } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { findNewsletter } from '../../config.js';
import type { App } from '../../app.js';
import type { DigestWork } from '../../delivery/find-stalled-digest-work.js';
import { DigestSchema, type Digest } from '../../digests/digest.js';
import { ArticleIdSchema } from '../../digests/update-draft.js';
import { AppError } from '../../errors.js';
import { FINDING_KIND_LIST } from '../../privacy/finding.js';
import {
  dateTimeFlag,
  defineAction,
  defineGroup,
  newsletterIdFlag,
  oneOperand,
  parseFlags,
  wholeNumberFlag,
  withApp,
  type CommandSink,
} from '../command-kit.js';
import { registerDigestEditingCommands } from './digest-editing.js';

/** Collects a repeatable flag's values in order. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Reads a text file a flag names; a missing or unreadable file is a usage error naming the flag. */
async function readTextFlag(flag: string, path: string): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    if (text.length > 100_000) throw new AppError('input_invalid', `--${flag}: ${path} is over 100,000 characters`);
    return text;
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError(
      'input_invalid',
      `--${flag}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/** Parses the digest id operand. */
export function parseDigestId(args: string[]): string {
  const id = oneOperand(args, 'digest id');
  if (!DigestSchema.shape.id.safeParse(id).success) {
    throw new AppError('input_invalid', `"${id}" is not a digest id; use one printed by \`letterpress digest create\``);
  }
  return id;
}

const CreateFlagsSchema = z.object({
  newsletter: newsletterIdFlag().default('daily'),
  since: dateTimeFlag('since').optional(),
  subject: z
    .string()
    .trim()
    .min(1, { error: '--subject needs text' })
    .max(200, { error: '--subject is over 200 characters' })
    .optional(),
  preheader: z
    .string()
    .trim()
    .min(1, { error: '--preheader needs text' })
    .max(200, { error: '--preheader is over 200 characters' })
    .optional(),
  note: z.string().min(1, { error: '--note needs a file name' }).optional(),
  article: z.array(ArticleIdSchema).max(100, { error: '--article: at most 100 articles' }).default([]),
  letter: z.string().min(1, { error: '--letter needs a file name' }).optional(),
  title: z.string().trim().min(1, { error: '--title needs text' }).max(200).optional(),
  signedBy: z.string().trim().min(1, { error: '--signed-by needs a name' }).max(120).optional(),
});
const PreviewFlagsSchema = z.object({
  format: z.enum(['html', 'text', 'eml'], { error: '--format must be html, text or eml' }).default('html'),
  out: z.string().min(1, { error: '--out needs a file name' }).optional(),
});
const SendFlagsSchema = z.object({
  wait: z.boolean().default(false),
  timeout: wholeNumberFlag('timeout', { min: 1, max: 86_400 }).default(3_600),
  allowFinding: z
    .array(z.enum(FINDING_KIND_LIST, { error: `--allow-finding must be one of: ${FINDING_KIND_LIST.join(', ')}` }))
    .default([]),
});
const PauseFlagsSchema = z.object({ reason: z.string().trim().min(1).max(300).optional() });

/**
 * The one thing to do next about a digest, when there is one that would work: fix the configuration first when that is
 * why its jobs failed; resume a stalled or paused digest; start a worker when none beats.
 */
function statusHint(
  digest: Digest,
  work: DigestWork | undefined,
  aliveWorkers: number,
  configurationProblem: (failedJobs: DigestWork['failedJobs']) => string | undefined,
): string | undefined {
  if (work?.isStalled) return work.hint;
  if (digest.status === 'paused') {
    const blocker = configurationProblem([]);
    return blocker
      ? `resuming cannot help until the configuration is fixed (${blocker})`
      : `once the cause is dealt with, run \`letterpress digest resume ${digest.id}\``;
  }
  if (digest.status === 'sending' && aliveWorkers === 0) {
    return 'no worker is running: start `letterpress worker` (the digest waits for one)';
  }
  return undefined;
}

/**
 * Waits for the digest to settle, showing progress on stderr. Every few seconds it also looks whether a worker beats
 * (and says so when none does) and whether anything is left to finish the digest: a stalled digest ends the wait
 * with its hint instead of waiting out the timeout.
 */
async function waitWithProgress(
  app: App,
  digestId: string,
  timeoutMs: number,
  options: { isQuiet: boolean },
): Promise<{ digest: Digest; stalledHint?: string }> {
  const { waitForDigestSettled } = await import('../../delivery/wait-for-digest.js');
  const { findStalledDigestWork } = await import('../../delivery/find-stalled-digest-work.js');
  const { createSendProgress } = await import('../send-progress.js');
  const progress = await createSendProgress({ stream: process.stderr, isQuiet: options.isQuiet });
  const stalled = new AbortController();
  let stalledHint: string | undefined;
  let checkedAt = Number.NEGATIVE_INFINITY;
  try {
    const digest = await waitForDigestSettled(app, digestId, {
      timeoutMs,
      pollIntervalMs: 250,
      signal: stalled.signal,
      onProgress: async (current) => {
        progress.update(current);
        if (Date.now() - checkedAt < 5_000) return;
        checkedAt = Date.now();
        const workers = await app.heartbeats.list(app.clock());
        progress.noteWorkers(workers.filter((worker) => !worker.isStale).length);
        if (current.status !== 'sending') return;
        const work = await findStalledDigestWork(app, { digestId });
        if (work.isStalled) {
          stalledHint = work.hint;
          stalled.abort();
        }
      },
    });
    return { digest, ...(stalledHint ? { stalledHint } : {}) };
  } finally {
    progress.stop();
  }
}

/** Registers the `digest` group. */
export function registerDigestCommands(program: Command, sink: CommandSink): void {
  const digest = defineGroup(program, 'digest', 'build, preview, send and steer digests');

  const create = digest
    .command('create')
    .description('start a draft of the newsletter’s new articles (or the chosen ones, or a letter); prints its id')
    .option('--newsletter <id>', 'the newsletter', 'daily')
    .option('--since <iso>', 'take articles published after this time (ISO 8601)')
    .option('--article <id>', 'an article to carry, in order (repeatable); replaces the suggestions', collect, [])
    .option('--subject <text>', 'the subject line instead of the composed one')
    .option('--preheader <text>', 'the preheader instead of the composed one')
    .option('--note <file>', 'the editor’s note, a Markdown file')
    .option('--letter <file>', 'make a letter: its body, a Markdown file')
    .option('--title <text>', 'the letter’s title')
    .option('--signed-by <name>', 'who signs the letter', 'the newsroom');
  defineAction(create, sink, async (_args, values) => {
    const flags = parseFlags(CreateFlagsSchema, values);
    const note = flags.note ? await readTextFlag('note', flags.note) : undefined;
    const letterBody = flags.letter ? await readTextFlag('letter', flags.letter) : undefined;
    if (flags.title && letterBody === undefined)
      throw new AppError('input_invalid', '--title is for a letter: add --letter FILE');
    return withApp(async (app, config) => {
      const newsletter = findNewsletter(config, flags.newsletter);
      const { createDraft } = await import('../../digests/create-draft.js');
      const { loadArticlesInOrder } = await import('../../digests/update-draft.js');
      const chosen = flags.article.length > 0 ? await loadArticlesInOrder(app, [...new Set(flags.article)]) : undefined;
      const isLetter = letterBody !== undefined;
      const { digest: created } = await createDraft(app, {
        newsletter,
        kind: isLetter ? 'letter' : 'digest',
        articles: chosen,
        since: flags.since ? new Date(flags.since) : undefined,
        createdBy: 'cli',
        composition: {
          note,
          subject: flags.subject,
          preheader: flags.preheader,
          ...(isLetter
            ? {
                letter: {
                  title: flags.title ?? 'A letter from the newsroom',
                  body: letterBody,
                  author: flags.signedBy ?? 'the newsroom',
                },
              }
            : {}),
        },
      });
      return {
        result: {
          id: created.id,
          newsletterId: created.newsletterId,
          kind: created.kind,
          status: created.status,
          subject: created.subject,
          articles: created.articleIds.length,
        },
        text: created.id,
      };
    });
  });

  const preview = digest
    .command('preview')
    .description('show a digest as a sample reader sees it')
    .argument('<id>')
    .option('--format <format>', 'html, text or eml', 'html')
    .option('--out <file>', 'write to a file instead of stdout');
  defineAction(preview, sink, async (args, values) => {
    const digestId = parseDigestId(args);
    const flags = parseFlags(PreviewFlagsSchema, values);
    return withApp(async (app, config) => {
      const found = await app.digests.get(digestId);
      if (!found) throw new AppError('digest_not_found', `no digest "${digestId}"`);
      const newsletter = findNewsletter(config, found.newsletterId);
      const { loadIssue } = await import('../../digests/load-issue.js');
      const { body } = await loadIssue(app, { digestId, newsletter, site: config.site });
      const { renderDigestPreview } = await import('../../mail/preview-digest.js');
      const { readInlineImageBytes } = await import('../../digests/image-store.js');
      const content = renderDigestPreview({
        digest: found,
        body,
        newsletter,
        site: config.site,
        secret: config.secret,
        imageBytes: await readInlineImageBytes(app.images, body.images?.inline ?? []),
        format: flags.format,
      });
      if (flags.out) {
        await writeFile(flags.out, content);
        return {
          result: { digestId, format: flags.format, out: flags.out, bytes: Buffer.byteLength(content) },
          text: `wrote ${flags.out}`,
        };
      }
      return { result: { digestId, format: flags.format, content }, text: content };
    });
  });

  const send = digest
    .command('send')
    .description('send a digest (a draft is frozen first; once per reader, however often it is run)')
    .argument('<id>')
    .option('--wait', 'return when every recipient is settled')
    .option('--timeout <seconds>', 'longest wait with --wait', '3600')
    .option(
      '--allow-finding <kind>',
      'send despite privacy findings of this kind (repeatable; see letterpress audit)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    );
  defineAction(send, sink, async (args, values, globals) => {
    const digestId = parseDigestId(args);
    const flags = parseFlags(SendFlagsSchema, values);
    return withApp(async (app, config) => {
      const { sendNow } = await import('../../delivery/send-now.js');
      const found = await app.digests.get(digestId);
      if (!found) throw new AppError('digest_not_found', `no digest "${digestId}"`);
      const newsletter = findNewsletter(config, found.newsletterId);
      const started = await sendNow(app, {
        digestId,
        newsletter,
        site: config.site,
        by: 'cli',
        allowFindings: flags.allowFinding,
      });
      // Images are fetched when the digest is frozen: one that could not be embedded is worth a warning.
      const omittedImages = (await app.digests.getBody(digestId))?.images?.omitted ?? [];
      const imageWarnings = omittedImages
        .map((o) => `\nwarning: image left out (${o.reason}): ${o.sourceUrl}`)
        .join('');
      const imagesLeftOut = omittedImages.length > 0 ? { imagesLeftOut: omittedImages } : {};
      if (!flags.wait) {
        const alive = (await app.heartbeats.list(app.clock())).filter((worker) => !worker.isStale).length;
        const hints: Record<string, string> = {
          sending:
            alive > 0
              ? `${alive} worker(s) deliver it; \`letterpress digest status ${digestId}\` shows how far they got`
              : 'no worker is running: start `letterpress worker` to deliver it',
          paused: `it is paused: see \`letterpress digest status ${digestId}\`, then \`letterpress digest resume ${digestId}\``,
          sent: 'it was already sent; nobody receives it twice',
          cancelled: 'it was cancelled',
        };
        return {
          result: { digestId, status: started.status, ...imagesLeftOut },
          text: `digest ${digestId}: ${started.status} (${hints[started.status] ?? 'see digest status'})${imageWarnings}`,
        };
      }
      const { digest: settled, stalledHint } = await waitWithProgress(app, digestId, flags.timeout * 1000, {
        // A script reading --json gets a clean stderr; a person at a terminal still sees the bar.
        isQuiet: globals.json && !process.stderr.isTTY,
      });
      const counts = settled.counts;
      return {
        result: {
          digestId,
          status: settled.status,
          recipients: counts.recipients,
          delivered: counts.delivered,
          failed: counts.failed,
          skipped: counts.skipped,
          ...imagesLeftOut,
          ...(stalledHint ? { stalled: stalledHint } : {}),
        },
        text:
          `digest ${digestId}: ${settled.status}; recipients ${counts.recipients}, delivered ${counts.delivered}, failed ${counts.failed}, skipped ${counts.skipped}` +
          (stalledHint ? `\nstalled: ${stalledHint}` : '') +
          imageWarnings,
        exitCode: settled.status === 'sent' ? 0 : 1,
      };
    });
  });

  const status = digest.command('status').description('a digest’s state, counts and failures').argument('<id>');
  defineAction(status, sink, async (args) => {
    const digestId = parseDigestId(args);
    return withApp(async (app) => {
      const found = await app.digests.get(digestId);
      if (!found) throw new AppError('digest_not_found', `no digest "${digestId}"`);
      const { findStalledDigestWork, configurationProblem } =
        await import('../../delivery/find-stalled-digest-work.js');
      // Only a digest still sending can be stuck; the job look-ups are not free at a million readers.
      const work = found.status === 'sending' ? await findStalledDigestWork(app, { digestId }) : undefined;
      const failures = found.counts.failed > 0 ? await app.ledger.listFailures(digestId, 10) : [];
      const audit = await app.audits.get(digestId);
      const workers = await app.heartbeats.list(app.clock());
      const hint = statusHint(found, work, workers.filter((worker) => !worker.isStale).length, (failedJobs) =>
        configurationProblem(app, found, failedJobs),
      );
      const c = found.counts;
      const pending = Math.max(0, c.recipients - c.delivered - c.failed - c.skipped);
      const text = [
        `digest ${found.id} (${found.newsletterId}): ${found.status}${found.pausedReason ? ` (${found.pausedReason})` : ''}`,
        `subject: ${found.subject}`,
        `privacy audit: ${audit ? `${audit.isPassed ? 'passed' : `${audit.blocking} blocking finding(s)`} at ${audit.auditedAt}` : 'not run yet (it runs on send; letterpress audit runs it now)'}`,
        `articles ${found.articleIds.length}; recipients ${c.recipients}, delivered ${c.delivered}, failed ${c.failed}, skipped ${c.skipped}, pending ${pending}`,
        ...failures.map((f) => `  failed: subscriber ${f.subscriberId}: ${f.reason}`),
        ...(c.failed > failures.length ? [`  (${c.failed - failures.length} more failures)`] : []),
        ...(work?.failedJobs ?? []).map(
          (job) => `  job failed: ${job.id} after ${job.attemptsMade} attempt(s): ${job.reason}`,
        ),
        ...(hint ? [`hint: ${hint}`] : []),
      ].join('\n');
      return {
        result: {
          ...found,
          failures,
          ...(audit ? { audit } : {}),
          ...(work ? { work } : {}),
          ...(hint ? { hint } : {}),
        },
        text,
      };
    });
  });

  const pause = digest
    .command('pause')
    .description('pause a digest that is sending: no new message goes out until it is resumed')
    .argument('<id>')
    .option('--reason <text>', 'shown by digest status');
  defineAction(pause, sink, async (args, values) => {
    const digestId = parseDigestId(args);
    const flags = parseFlags(PauseFlagsSchema, values);
    return withApp(async (app) => {
      const { pauseDigest } = await import('../../delivery/control-digest.js');
      const paused = await pauseDigest(app, { digestId, reason: flags.reason });
      return { result: { digestId, status: paused.status }, text: `digest ${digestId}: ${paused.status}` };
    });
  });

  const resume = digest.command('resume').description('continue a paused digest').argument('<id>');
  defineAction(resume, sink, async (args) => {
    const digestId = parseDigestId(args);
    return withApp(async (app) => {
      const { resumeDigest } = await import('../../delivery/control-digest.js');
      const resumed = await resumeDigest(app, { digestId });
      return { result: { digestId, status: resumed.status }, text: `digest ${digestId}: ${resumed.status}` };
    });
  });

  registerDigestEditingCommands(digest, sink);

  const cancel = digest.command('cancel').description('withdraw a digest; nobody else receives it').argument('<id>');
  defineAction(cancel, sink, async (args) => {
    const digestId = parseDigestId(args);
    return withApp(async (app) => {
      const { cancelDigest } = await import('../../delivery/control-digest.js');
      const cancelled = await cancelDigest(app, { digestId, by: 'cli' });
      return { result: { digestId, status: cancelled.status }, text: `digest ${digestId}: ${cancelled.status}` };
    });
  });
}
