/** `letterpress subscribers ...`: readers added and removed by hand. */
import type { Command } from 'commander';
import { z } from 'zod';
import { findNewsletter } from '../../config.js';
import { AppError } from '../../errors.js';
import { EmailSchema } from '../../subscribers/subscriber.js';
import {
  defineAction,
  defineGroup,
  newsletterIdFlag,
  oneOperand,
  parseFlags,
  withApp,
  type CommandSink,
} from '../command-kit.js';

const AddFlagsSchema = z.object({
  newsletter: z.array(newsletterIdFlag()).optional(),
  resubscribe: z.boolean().default(false),
});
const RemoveFlagsSchema = z.object({ newsletter: z.array(newsletterIdFlag()).optional() });

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
}
