/**
 * `letterpress rate ...`: the send-rate limit every worker shares through Redis. `set` and `clear` take effect for
 * the next message each worker sends (within a quarter of a second), while a digest is sending; `show` reports what
 * is in force.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import type { SendRateSettings } from '../../delivery/send-rate-store.js';
import { asciiDomain } from '../../delivery/wait-for-send-permit.js';
import { AppError } from '../../errors.js';
import { defineAction, defineGroup, oneOperand, parseFlags, withApp, type CommandSink } from '../command-kit.js';

const MAX_PER_SECOND = 1_000_000;
const RATE_WORDS =
  `messages per second must be a positive number (e.g. 200 or 0.5) up to ${MAX_PER_SECOND}` +
  ' (`letterpress rate clear` lifts a stored rate)';

/** The operand of `rate set`: digits with an optional fraction, nothing else (no sign, no exponent, no unit). */
const PerSecondSchema = z
  .string()
  .regex(/^\d{1,7}(\.\d{1,6})?$/, { error: RATE_WORDS })
  .transform(Number)
  .pipe(z.number().positive({ error: RATE_WORDS }).max(MAX_PER_SECOND, { error: RATE_WORDS }));

/** A recipient domain as it appears after the @ of an address, lower-cased; a Unicode one in its ASCII form. */
const DomainSchema = z
  .string({ error: '--domain needs a domain name, e.g. example.com' })
  .transform(asciiDomain)
  .pipe(
    z
      .string()
      .max(253, { error: '--domain must be at most 253 characters' })
      .regex(/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, {
        error: '--domain must be a domain name such as example.com (letters, digits, hyphens and dots only)',
      }),
  );

const SetFlagsSchema = z.object({ domain: DomainSchema.optional() });
const ClearFlagsSchema = z
  .object({ domain: DomainSchema.optional(), all: z.boolean().default(false) })
  .refine((flags) => !(flags.all && flags.domain), { error: '--all and --domain cannot be used together' });

/** "200 messages/s" or "unlimited". */
function describeRate(perSecond: number | undefined): string {
  return perSecond === undefined ? 'unlimited' : `${perSecond} messages/s`;
}

/** The settings as `--json` prints them: a rate that is not set is null, not left out. */
function settingsJson(settings: SendRateSettings) {
  return {
    configuredPerSecond: settings.configuredPerSecond ?? null,
    overridePerSecond: settings.overridePerSecond ?? null,
    effectivePerSecond: settings.effectivePerSecond ?? null,
    domains: settings.domains,
  };
}

/** The text of `rate show` (and after a change). */
function describeSettings(settings: SendRateSettings): string {
  const source =
    settings.overridePerSecond !== undefined
      ? `set with \`letterpress rate set\`; SEND_RATE_PER_SECOND is ${settings.configuredPerSecond === undefined ? 'unset' : describeRate(settings.configuredPerSecond)}`
      : settings.configuredPerSecond !== undefined
        ? 'from SEND_RATE_PER_SECOND'
        : 'SEND_RATE_PER_SECOND is unset and no rate was set';
  const domains = Object.entries(settings.domains).sort(([a], [b]) => a.localeCompare(b));
  return [
    `rate: ${describeRate(settings.effectivePerSecond)} for every worker together (${source})`,
    domains.length === 0
      ? 'per recipient domain: no limit'
      : `per recipient domain:\n${domains.map(([domain, rate]) => `  ${domain}  ${describeRate(rate)}`).join('\n')}`,
  ].join('\n');
}

/** Registers the `rate` group. */
export function registerRateCommands(program: Command, sink: CommandSink): void {
  const rate = defineGroup(
    program,
    'rate',
    'the send rate every worker shares (messages per second, overall and per recipient domain)',
  );

  const show = rate.command('show').description('the send rate in force and the limits per recipient domain');
  defineAction(show, sink, async () =>
    withApp(async (app) => {
      const settings = await app.sendRate.read();
      return { result: settingsJson(settings), text: describeSettings(settings) };
    }),
  );

  const set = rate
    .command('set')
    .description(
      'set messages per second for every worker together (overrides SEND_RATE_PER_SECOND), or for one recipient ' +
        'domain; applies to the next message each worker sends, also in the middle of a digest',
    )
    .argument('<messages-per-second>', `a positive number up to ${MAX_PER_SECOND}, e.g. 200 or 0.5`)
    .option('--domain <name>', 'limit only messages to this recipient domain (e.g. example.com)');
  defineAction(set, sink, async (args, values) => {
    const operand = oneOperand(args, 'rate in messages per second');
    const flags = parseFlags(SetFlagsSchema, values);
    const parsed = PerSecondSchema.safeParse(operand);
    if (!parsed.success) throw new AppError('input_invalid', `${RATE_WORDS}; got ${JSON.stringify(operand)}`);
    const perSecond = parsed.data;
    return withApp(async (app) => {
      await app.sendRate.set(perSecond, flags.domain);
      const settings = await app.sendRate.read();
      const what = flags.domain ? `messages to ${flags.domain}` : 'every worker together';
      return {
        result: { perSecond, ...(flags.domain ? { domain: flags.domain } : {}), settings: settingsJson(settings) },
        text: `${describeRate(perSecond)} for ${what}, from the next message\n${describeSettings(settings)}`,
      };
    });
  });

  const clear = rate
    .command('clear')
    .description(
      'remove the rate set with `rate set` (SEND_RATE_PER_SECOND applies again), one domain’s limit (--domain), ' +
        'or every stored rate (--all)',
    )
    .option('--domain <name>', 'remove only this recipient domain’s limit')
    .option('--all', 'remove the overall rate and every domain’s limit');
  defineAction(clear, sink, async (_args, values) => {
    const flags = parseFlags(ClearFlagsSchema, values);
    return withApp(async (app) => {
      let isCleared = true;
      if (flags.all) await app.sendRate.clearAll();
      else isCleared = await app.sendRate.clear(flags.domain);
      const settings = await app.sendRate.read();
      const what = flags.all ? 'every stored rate' : flags.domain ? `the limit of ${flags.domain}` : 'the stored rate';
      return {
        result: {
          cleared: isCleared,
          ...(flags.domain ? { domain: flags.domain } : {}),
          settings: settingsJson(settings),
        },
        text: `${isCleared ? `removed ${what}` : `nothing to remove: no ${what.replace(/^the /, '')}`}\n${describeSettings(settings)}`,
      };
    });
  });
}
