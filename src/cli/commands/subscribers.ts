/**
 * `letterpress subscribers ...`: readers added and removed by hand, imported and exported, listed and counted; a
 * person's data exported or erased; addresses suppressed and unsuppressed.
 */
import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import type { App } from '../../app.js';
import { findNewsletter, type Config } from '../../config.js';
import { AppError } from '../../errors.js';
import { eraseSubscriber } from '../../subscribers/erase-subscriber.js';
import { exportPersonalData } from '../../subscribers/export-personal-data.js';
import { countSubscribers, listSubscribers, type ListedSubscriber } from '../../subscribers/list-subscribers.js';
import { EmailSchema, SubscriberStatus } from '../../subscribers/subscriber.js';
import {
  defineAction,
  defineGroup,
  newsletterIdFlag,
  oneOperand,
  parseFlags,
  wholeNumberFlag,
  withApp,
  type CommandSink,
} from '../command-kit.js';
import { runExport, runImport } from './subscribers-transfer.js';
import { MAX_UNSUBSCRIBE_MAIL_BYTES, unsubscribeByMail } from '../../subscribers/unsubscribe-by-mail.js';

const AddFlagsSchema = z.object({
  newsletter: z.array(newsletterIdFlag()).optional(),
  resubscribe: z.boolean().default(false),
});
const RemoveFlagsSchema = z.object({ newsletter: z.array(newsletterIdFlag()).optional() });
const statusFlag = z.enum(Object.values(SubscriberStatus) as [SubscriberStatus, ...SubscriberStatus[]], {
  error: `--status must be one of ${Object.values(SubscriberStatus).join(', ')}`,
});
const ImportFlagsSchema = z.object({
  newsletter: z.array(newsletterIdFlag()).optional(),
  confirmed: z.boolean().default(false),
  rejects: z.string().min(1, { error: '--rejects needs a file name' }).optional(),
});
const ExportFlagsSchema = z.object({
  newsletter: newsletterIdFlag().optional(),
  status: statusFlag.optional(),
  out: z.string().min(1, { error: '--out needs a file name' }).optional(),
});
const ListFlagsSchema = z.object({
  newsletter: newsletterIdFlag().optional(),
  status: statusFlag.optional(),
  search: z.string().min(1, { error: '--search needs some text' }).max(254).optional(),
  limit: wholeNumberFlag('limit', { min: 1, max: 100_000 }).default(50),
});
const CountFlagsSchema = z.object({ newsletter: newsletterIdFlag().optional() });
const SuppressFlagsSchema = z.object({
  reason: z
    .string({ error: '--reason is required: say why the address is suppressed' })
    .trim()
    .min(1, { error: '--reason is required: say why the address is suppressed' })
    .max(300, { error: '--reason must be at most 300 characters' }),
});

/** Checks that a named newsletter is configured. */
function checkNewsletter(config: Config, id: string | undefined): void {
  if (id !== undefined) findNewsletter(config, id);
}

/** One reader as a line of `subscribers list`. */
function describeReader(reader: ListedSubscriber): string {
  const newsletters = reader.newsletters.length > 0 ? reader.newsletters.join(';') : '-';
  const why = reader.suppression ? `  suppressed ${reader.suppression.at}: ${reader.suppression.reason}` : '';
  return `${reader.id}\t${reader.email}\t${reader.status}\t${newsletters}\t${reader.createdAt}${why}`;
}

/** The erasure's dependencies, wired from the app. */
function erasureDeps(app: App) {
  return {
    subscribers: app.subscribers,
    ledger: app.ledger,
    jobs: app.queues,
    newsletterIds: app.config.newsletters.map((n) => n.id),
    forgetRateLimits: async (email: string) => {
      const key = app.readerLimits.addressKey(email);
      await Promise.all(app.readerLimits.byAddress.map((limiter) => limiter.reset(key)));
    },
  };
}

/** Parses the one email operand; the error says what is wrong with it. */
function parseEmailOperand(args: string[]): string {
  const parsed = EmailSchema.safeParse(oneOperand(args, 'email address'));
  if (!parsed.success) throw new AppError('input_invalid', `email: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Registers the `subscribers` group. */
export function registerSubscriberCommands(program: Command, sink: CommandSink): void {
  const subscribers = defineGroup(program, 'subscribers', 'readers and their newsletters');

  const add = subscribers
    .command('add')
    .description('add an active subscriber (all newsletters unless named)')
    .argument('<email>')
    .option('--newsletter <id>', 'a newsletter to join (repeatable)', collect)
    .option('--resubscribe', 'the reader left earlier and has opted in again');
  defineAction(add, sink, async (args, values) => {
    const email = parseEmailOperand(args);
    const flags = parseFlags(AddFlagsSchema, values);
    return withApp(async (app, config) => {
      const newsletterIds = flags.newsletter ?? config.newsletters.map((n) => n.id);
      for (const id of newsletterIds) findNewsletter(config, id);
      const added = await app.subscribers.add({
        email,
        newsletterIds,
        status: 'active',
        resubscribe: flags.resubscribe,
      });
      const { subscriber, created } = added;
      const refusal =
        added.refusal === 'suppressed'
          ? 'the address is suppressed (it bounced or complained) and is never reactivated'
          : added.refusal === 'unsubscribed'
            ? 'the reader unsubscribed earlier; pass --resubscribe only if they opted in again'
            : undefined;
      const newsletters = subscriber.newsletters.length > 0 ? subscriber.newsletters.join(', ') : 'no newsletter';
      return {
        result: {
          id: subscriber.id,
          status: subscriber.status,
          newsletters: subscriber.newsletters,
          created,
          ...(refusal ? { refused: refusal } : {}),
        },
        text: `${created ? 'added' : 'already known'}: subscriber ${subscriber.id} (${subscriber.status}) to ${newsletters}${refusal ? `; not resubscribed: ${refusal}` : ''}`,
        exitCode: refusal ? 1 : 0,
      };
    });
  });

  const remove = subscribers
    .command('remove')
    .description('unsubscribe at once, also from digests being sent (all newsletters unless named)')
    .argument('<email>')
    .option('--newsletter <id>', 'a newsletter to leave (repeatable)', collect);
  defineAction(remove, sink, async (args, values) => {
    const email = parseEmailOperand(args);
    const flags = parseFlags(RemoveFlagsSchema, values);
    return withApp(async (app, config) => {
      for (const id of flags.newsletter ?? []) findNewsletter(config, id);
      const found = await app.subscribers.getByEmail(email);
      if (!found) throw new AppError('subscriber_not_found', 'no subscriber with that address');
      let subscriber = found;
      for (const newsletterId of flags.newsletter ?? [undefined]) {
        subscriber = (await app.subscribers.unsubscribe(found.id, newsletterId)) ?? subscriber;
      }
      const left = subscriber.newsletters.length > 0 ? subscriber.newsletters.join(', ') : 'no newsletter';
      return {
        result: { id: subscriber.id, status: subscriber.status, newsletters: subscriber.newsletters },
        text: `removed: subscriber ${subscriber.id} (${subscriber.status}) now takes ${left}; it takes effect for digests being sent too`,
      };
    });
  });

  const importCommand = subscribers
    .command('import')
    .description('import readers from a CSV file (header: email, optional name and newsletters separated by ;)')
    .argument('<file>', 'the CSV file, or - for stdin')
    .option('--newsletter <id>', 'newsletter for rows without a newsletters value (repeatable; default: all)', collect)
    .option('--confirmed', 'the readers opted in elsewhere: active at once, no confirmation email')
    .option('--rejects <file>', 'write rejected rows as line,reason to this CSV file instead of stderr');
  defineAction(importCommand, sink, async (args, values) => {
    const file = oneOperand(args, 'CSV file');
    const flags = parseFlags(ImportFlagsSchema, values);
    return withApp(async (app, config) => {
      for (const id of flags.newsletter ?? []) findNewsletter(config, id);
      return runImport(app, file, {
        newsletterIds: flags.newsletter,
        isConfirmed: flags.confirmed,
        rejects: flags.rejects,
      });
    });
  });

  const exportCommand = subscribers
    .command('export')
    .description('export readers as CSV: id,email,name,status,newsletters,created_at (formula cells neutralised)')
    .option('--newsletter <id>', 'only readers of this newsletter')
    .option('--status <status>', 'only readers in this status (pending, active, unsubscribed, suppressed)')
    .option('--out <file>', 'write to this file instead of stdout');
  defineAction(exportCommand, sink, async (_args, values, globals) => {
    const flags = parseFlags(ExportFlagsSchema, values);
    if (globals.json && !flags.out)
      throw new AppError('input_invalid', '--json needs --out FILE: the CSV would go to stdout');
    return withApp(async (app, config) => {
      checkNewsletter(config, flags.newsletter);
      return runExport(app, { newsletterId: flags.newsletter, status: flags.status }, flags.out);
    });
  });

  const list = subscribers
    .command('list')
    .description('list readers (suppressed ones with why and when)')
    .option('--newsletter <id>', 'only readers of this newsletter')
    .option('--status <status>', 'only readers in this status (pending, active, unsubscribed, suppressed)')
    .option('--search <text>', 'only readers whose address or name contains the text')
    .option('--limit <n>', 'at most this many (default 50)');
  defineAction(list, sink, async (_args, values) => {
    const flags = parseFlags(ListFlagsSchema, values);
    return withApp(async (app, config) => {
      checkNewsletter(config, flags.newsletter);
      const found = await listSubscribers(
        { subscribers: app.subscribers },
        { newsletterId: flags.newsletter, status: flags.status, search: flags.search },
        flags.limit,
      );
      return {
        result: found,
        text: found.length > 0 ? found.map(describeReader).join('\n') : 'no reader matches',
      };
    });
  });

  const count = subscribers
    .command('count')
    .description('count readers by status')
    .option('--newsletter <id>', 'only readers of this newsletter');
  defineAction(count, sink, async (_args, values) => {
    const flags = parseFlags(CountFlagsSchema, values);
    return withApp(async (app, config) => {
      checkNewsletter(config, flags.newsletter);
      const counts = await countSubscribers({ subscribers: app.subscribers }, { newsletterId: flags.newsletter });
      const suppressionList = await app.subscribers.countSuppressions();
      return {
        result: { ...counts, suppressionList },
        text: `active ${counts.active}, pending ${counts.pending}, unsubscribed ${counts.unsubscribed}, suppressed ${counts.suppressed}, total ${counts.total} (suppression list: ${suppressionList} address(es), erased ones included)`,
      };
    });
  });

  const exportData = subscribers
    .command('export-data')
    .description('print everything held about a person: record, newsletters, digests received, suppression')
    .argument('<email>');
  defineAction(exportData, sink, async (args) => {
    const email = parseEmailOperand(args);
    return withApp(async (app, config) => {
      const data = await exportPersonalData(
        { subscribers: app.subscribers, ledger: app.ledger, jobs: app.queues, newsletters: config.newsletters },
        email,
      );
      return { result: data, text: JSON.stringify(data, null, 2) };
    });
  });

  const unsubscribeMail = subscribers
    .command('unsubscribe-mail')
    .description(
      'read one email (an unsubscribe request sent to site.unsubscribeMailbox) and unsubscribe the reader its subject names; for the relay to pipe mail to',
    )
    .argument('[file]', 'the message (.eml), or - for stdin', '-');
  defineAction(unsubscribeMail, sink, async (args) => {
    const file = oneOperand(args, 'file');
    const raw = await readMessage(file);
    return withApp(async (app, config) => {
      const outcome = await unsubscribeByMail({ config, subscribers: app.subscribers, clock: app.clock }, raw);
      // Exit 0 also when ignored: a relay's pipe would otherwise bounce a forged request back to its From.
      const text =
        outcome.kind === 'done'
          ? `unsubscribed: subscriber ${outcome.subscriberId} from ${outcome.newsletterId}`
          : `ignored: ${outcome.reason}`;
      return { result: outcome, text };
    });
  });

  const erase = subscribers
    .command('erase')
    .description('erase every trace of a person (a suppressed address stays suppressed by a keyed hash only)')
    .argument('<email>');
  defineAction(erase, sink, async (args) => {
    const email = parseEmailOperand(args);
    return withApp(async (app) => {
      const result = await eraseSubscriber(erasureDeps(app), email);
      const kept = result.staysSuppressed ? '; it stays suppressed, by a keyed hash only' : '';
      const text = result.hadRecord
        ? `erased: the record, its place in ${result.ledgersChanged} digest ledger(s), ${result.jobsRemoved} queued job(s) and its rate-limit counters${kept}`
        : `no reader had that address; ${result.jobsRemoved} queued job(s) and any rate-limit counters removed${kept}`;
      return { result, text };
    });
  });

  const suppress = subscribers
    .command('suppress')
    .description('suppress an address in every newsletter (a bounce or complaint reported elsewhere)')
    .argument('<email>')
    .option('--reason <text>', 'why (kept with the suppression)');
  defineAction(suppress, sink, async (args, values) => {
    const email = parseEmailOperand(args);
    const flags = parseFlags(SuppressFlagsSchema, values);
    return withApp(async (app) => {
      const before = await app.subscribers.getSuppression(email);
      await app.subscribers.suppress(email, `by hand: ${flags.reason}`);
      const after = await app.subscribers.getSuppression(email);
      return {
        result: { suppressed: true, wasSuppressed: before !== undefined, reason: after?.reason, at: after?.at },
        text: before
          ? `already suppressed since ${before.at} (${before.reason}); nothing changed`
          : `suppressed: nothing more will be sent to this address (${after?.reason ?? flags.reason})`,
      };
    });
  });

  const unsuppress = subscribers
    .command('unsuppress')
    .description('lift a suppression made by mistake (the reader stays unsubscribed until they opt in again)')
    .argument('<email>');
  defineAction(unsuppress, sink, async (args) => {
    const email = parseEmailOperand(args);
    return withApp(async (app) => {
      const { lifted, status } = await app.subscribers.unsuppress(email);
      const text = lifted
        ? `lifted the suppression of ${lifted.at} (${lifted.reason}); ${status ? `the reader is now ${status} and receives nothing until they subscribe again` : 'no reader record exists for it'}`
        : 'the address was not suppressed; nothing changed';
      return { result: { lifted: lifted ?? null, status: status ?? null }, text };
    });
  });
}

/** Reads a message from a file or stdin, refusing one larger than an unsubscribe request could be. */
async function readMessage(file: string | undefined): Promise<Buffer> {
  const stream = !file || file === '-' ? process.stdin : createReadStream(file);
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      const piece = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      length += piece.length;
      if (length > MAX_UNSUBSCRIBE_MAIL_BYTES) {
        throw new AppError(
          'input_invalid',
          `file: over ${MAX_UNSUBSCRIBE_MAIL_BYTES / 1024} KB, not an unsubscribe request`,
        );
      }
      chunks.push(piece);
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('input_invalid', `file: cannot read ${file} (${(error as Error).message})`);
  }
  return Buffer.concat(chunks);
}
