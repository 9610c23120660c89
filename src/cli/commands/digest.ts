/** `letterpress digest ...`: build, preview, send, watch and steer a digest. */
import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { findNewsletter } from '../../config.js';
import { DigestSchema } from '../../digests/digest.js';
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

/** Registers the `digest` group. */
export function registerDigestCommands(program: Command, sink: CommandSink): void {
  const digest = defineGroup(program, 'digest', 'build, preview, send and steer digests');

  const create = digest
    .command('create')
    .description('build and freeze a digest of the newsletter’s new articles; prints its id')
    .option('--newsletter <id>', 'the newsletter', 'daily')
    .option('--since <iso>', 'take articles published after this time (ISO 8601)');
  defineAction(create, sink, async (_args, values) => {
    const flags = parseFlags(CreateFlagsSchema, values);
    return withApp(async (app, config) => {
      const newsletter = findNewsletter(config, flags.newsletter);
      const { createDigest } = await import('../../digests/create-digest.js');
      const created = await createDigest(
        {
          articles: app.articles,
          digests: app.digests,
          lastSentAt: (id) => app.lastSentAt(id),
          clock: () => new Date(),
          freezeImages: (input) => app.freezeImages(input),
        },
        { newsletter, site: config.site, since: flags.since ? new Date(flags.since) : undefined },
      );
      const images = (await app.digests.getBody(created.id))?.images;
      const omitted = images?.omitted ?? [];
      return {
        result: {
          id: created.id,
          newsletterId: created.newsletterId,
          subject: created.subject,
          articles: created.articleIds.length,
          images: { policy: images?.policy ?? 'remote', embedded: images?.inline.length ?? 0, omitted },
        },
        // The id alone on the first line, so scripts can take it; a left-out image is worth a warning below it.
        text: [created.id, ...omitted.map((o) => `warning: image left out (${o.reason}): ${o.sourceUrl}`)].join('\n'),
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
      const body = await app.digests.getBody(digestId);
      if (!found || !body) throw new AppError('digest_not_found', `no digest "${digestId}"`);
      const newsletter = findNewsletter(config, found.newsletterId);
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
    .description('send a digest (once per reader, however often it is run)')
    .argument('<id>')
    .option('--wait', 'return when every recipient is settled')
    .option('--timeout <seconds>', 'longest wait with --wait', '3600')
    .option(
      '--allow-finding <kind>',
      'send despite privacy findings of this kind (repeatable; see letterpress audit)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    );
  defineAction(send, sink, async (args, values) => {
    const digestId = parseDigestId(args);
    const flags = parseFlags(SendFlagsSchema, values);
    return withApp(async (app) => {
      const { sendDigest } = await import('../../delivery/send-digest.js');
      const { waitForDigestSettled } = await import('../../delivery/wait-for-digest.js');
      const started = await sendDigest(app, { digestId, allowFindings: flags.allowFinding });
      if (!flags.wait) {
        const hints: Record<string, string> = {
          sending: 'workers deliver it: run `letterpress worker` if none is running',
          paused: `it is paused: see \`letterpress digest status ${digestId}\`, then \`letterpress digest resume ${digestId}\``,
          sent: 'it was already sent; nobody receives it twice',
          cancelled: 'it was cancelled',
        };
        return {
          result: { digestId, status: started.status },
          text: `digest ${digestId}: ${started.status} (${hints[started.status] ?? 'see digest status'})`,
        };
      }
      const settled = await waitForDigestSettled(app, digestId, { timeoutMs: flags.timeout * 1000 });
      const counts = settled.counts;
      return {
        result: {
          digestId,
          status: settled.status,
          recipients: counts.recipients,
          delivered: counts.delivered,
          failed: counts.failed,
          skipped: counts.skipped,
        },
        text: `digest ${digestId}: ${settled.status}; recipients ${counts.recipients}, delivered ${counts.delivered}, failed ${counts.failed}, skipped ${counts.skipped}`,
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
      const { findStalledDigestWork } = await import('../../delivery/find-stalled-digest-work.js');
      // Only a digest still sending can be stuck; the job look-ups are not free at a million readers.
      const work = found.status === 'sending' ? await findStalledDigestWork(app, { digestId }) : undefined;
      const failures = found.counts.failed > 0 ? await app.ledger.listFailures(digestId, 10) : [];
      const audit = await app.audits.get(digestId);
      const c = found.counts;
      const pending = Math.max(0, c.recipients - c.delivered - c.failed - c.skipped);
      const text = [
        `digest ${found.id} (${found.newsletterId}): ${found.status}${found.pausedReason ? ` (${found.pausedReason})` : ''}`,
        `subject: ${found.subject}`,
        `privacy audit: ${audit ? `${audit.isPassed ? 'passed' : `${audit.blocking} blocking finding(s)`} at ${audit.auditedAt}` : 'not run yet (it runs on send; letterpress audit runs it now)'}`,
        `articles ${found.articleIds.length}; recipients ${c.recipients}, delivered ${c.delivered}, failed ${c.failed}, skipped ${c.skipped}, pending ${pending}`,
        ...failures.map((f) => `  failed: subscriber ${f.subscriberId}: ${f.reason}`),
        ...(c.failed > failures.length ? [`  (${c.failed - failures.length} more failures)`] : []),
        ...(work?.isStalled && work.hint ? [`stalled: ${work.hint}`] : []),
      ].join('\n');
      return { result: { ...found, failures, ...(audit ? { audit } : {}), ...(work ? { work } : {}) }, text };
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

  const cancel = digest.command('cancel').description('withdraw a digest; nobody else receives it').argument('<id>');
  defineAction(cancel, sink, async (args) => {
    const digestId = parseDigestId(args);
    return withApp(async (app) => {
      const { cancelDigest } = await import('../../delivery/control-digest.js');
      const cancelled = await cancelDigest(app, { digestId });
      return { result: { digestId, status: cancelled.status }, text: `digest ${digestId}: ${cancelled.status}` };
    });
  });
}
