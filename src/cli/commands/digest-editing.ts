/** `letterpress digest list | test | schedule | unschedule`: the newsroom's verbs on the command line. */
import type { Command } from 'commander';
import { z } from 'zod';
import { findNewsletter, newsletterTimeZone } from '../../config.js';
import { DIGEST_STATUSES } from '../../digests/digest.js';
import { AppError } from '../../errors.js';
import {
  defineAction,
  newsletterIdFlag,
  parseFlags,
  wholeNumberFlag,
  withApp,
  type CommandSink,
} from '../command-kit.js';
import { collect, parseDigestId } from './digest.js';

const ListFlagsSchema = z.object({
  newsletter: newsletterIdFlag().optional(),
  status: z.enum(DIGEST_STATUSES, { error: `--status must be one of ${DIGEST_STATUSES.join(', ')}` }).optional(),
  limit: wholeNumberFlag('limit', { min: 1, max: 500 }).default(50),
});
const TestFlagsSchema = z.object({
  to: z.array(z.string()).min(1, { error: '--to needs at least one address' }),
});
const ScheduleFlagsSchema = z.object({ at: z.string().min(1, { error: '--at needs a time' }) });

/** Registers the newsroom's verbs on the `digest` group. */
export function registerDigestEditingCommands(digest: Command, sink: CommandSink): void {
  const list = digest
    .command('list')
    .description('list digests and letters, newest first: status, subject, counts')
    .option('--newsletter <id>', 'only this newsletter')
    .option('--status <status>', `only this status (${DIGEST_STATUSES.join(', ')})`)
    .option('--limit <n>', 'how many (1-500)', '50');
  defineAction(list, sink, async (_args, values) => {
    const flags = parseFlags(ListFlagsSchema, values);
    return withApp(async (app, config) => {
      const { summarizeDigest } = await import('../../newsroom/describe-newsletter.js');
      if (flags.newsletter) findNewsletter(config, flags.newsletter);
      const found = flags.newsletter
        ? await app.digests.listByNewsletter(flags.newsletter, 1000)
        : await app.digests.list(1000);
      const now = app.clock();
      const digests = found
        .filter((d) => !flags.status || d.status === flags.status)
        .slice(0, flags.limit)
        .map((d) => summarizeDigest(d, now));
      const lines = digests.map(
        (d) =>
          `${d.id}  ${d.status.padEnd(9)} ${d.kind === 'letter' ? '[letter] ' : ''}${d.subject}` +
          (d.counts.recipients > 0
            ? `\n    readers ${d.counts.recipients}, delivered ${d.counts.delivered}, failed ${d.counts.failed}, skipped ${d.counts.skipped}`
            : '') +
          (d.scheduledFor && d.status === 'scheduled' ? `\n    scheduled for ${d.scheduledFor}` : ''),
      );
      return { result: { digests }, text: lines.join('\n') || 'no digest yet: run `letterpress digest create`' };
    });
  });

  const test = digest
    .command('test')
    .description('send a test copy to a few addresses (subject marked [Test]; never counted as a delivery)')
    .argument('<id>')
    .option('--to <address>', 'an address (repeatable, up to 5)', collect, []);
  defineAction(test, sink, async (args, values) => {
    const digestId = parseDigestId(args);
    const flags = parseFlags(TestFlagsSchema, values);
    const { TestRecipientsSchema, requestTestSend } = await import('../../delivery/request-test-send.js');
    const parsed = TestRecipientsSchema.safeParse(flags.to);
    if (!parsed.success) {
      throw new AppError('input_invalid', `--to: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
    }
    return withApp(async (app) => {
      const queued = await requestTestSend(app, { digestId, to: parsed.data, requestedBy: 'cli' });
      return {
        result: { digestId, queued: true, to: queued.to },
        text: `test of ${digestId} queued for ${queued.to.length} address(es); a worker sends it`,
      };
    });
  });

  const schedule = digest
    .command('schedule')
    .description('freeze a draft and send it at a time (ISO 8601; without an offset, in the newsletter’s zone)')
    .argument('<id>')
    .requiredOption('--at <time>', 'e.g. 2026-11-27T06:00 (newsletter’s zone) or 2026-11-27T06:00:00Z');
  defineAction(schedule, sink, async (args, values) => {
    const digestId = parseDigestId(args);
    const flags = parseFlags(ScheduleFlagsSchema, values);
    const { parseSendTime, formatLocalTime } = await import('../../newsletters/send-time.js');
    parseSendTime(flags.at, 'UTC', '--at'); // its form, before anything is opened; the zone comes with the digest
    return withApp(async (app, config) => {
      const found = await app.digests.get(digestId);
      if (!found) throw new AppError('digest_not_found', `no digest "${digestId}"`);
      const newsletter = findNewsletter(config, found.newsletterId);
      const zone = newsletterTimeZone(newsletter, config.site);
      const at = parseSendTime(flags.at, zone, '--at');
      const { scheduleDigest } = await import('../../delivery/schedule-digest.js');
      const scheduled = await scheduleDigest(app, { digestId, newsletter, site: config.site, at, by: 'cli' });
      return {
        result: { digestId, status: scheduled.status, scheduledFor: scheduled.scheduledFor, timeZone: zone },
        text: `digest ${digestId}: scheduled for ${formatLocalTime(at, zone, config.site.locale)} (${scheduled.scheduledFor})`,
      };
    });
  });

  const unschedule = digest
    .command('unschedule')
    .description('take a scheduled digest back to a draft')
    .argument('<id>');
  defineAction(unschedule, sink, async (args) => {
    const digestId = parseDigestId(args);
    return withApp(async (app) => {
      const { unscheduleDigest } = await import('../../delivery/schedule-digest.js');
      const back = await unscheduleDigest(app, { digestId, by: 'cli' });
      return { result: { digestId, status: back.status }, text: `digest ${digestId}: ${back.status}` };
    });
  });
}
