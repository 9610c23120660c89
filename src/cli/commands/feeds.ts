/** `letterpress feeds status`: each configured feed and how its polling goes. */
import type { Command } from 'commander';
import { z } from 'zod';
import { findNewsletter } from '../../config.js';
import { defineAction, defineGroup, newsletterIdFlag, parseFlags, withApp, type CommandSink } from '../command-kit.js';

const StatusFlagsSchema = z.object({ newsletter: newsletterIdFlag().optional() });

/** Registers the `feeds` group. */
export function registerFeedCommands(program: Command, sink: CommandSink): void {
  const feeds = defineGroup(program, 'feeds', 'the feeds newsletters poll (newsletters[].feeds in the config file)');
  const status = feeds
    .command('status')
    .description('each configured feed: last poll, outcome, failures in a row, next try')
    .option('--newsletter <id>', 'only this newsletter’s feeds');
  defineAction(status, sink, async (_args, values) => {
    const flags = parseFlags(StatusFlagsSchema, values);
    return withApp(async (app, config) => {
      const { describeFeeds } = await import('../../newsroom/describe-feeds.js');
      const newsletters = flags.newsletter ? [findNewsletter(config, flags.newsletter)] : config.newsletters;
      const report = await describeFeeds(app, newsletters);
      const lines = report.map(({ url, intervalMinutes, newsletterIds, state }) => {
        const head = `${url}  every ${intervalMinutes} min  (${newsletterIds.join(', ')})`;
        if (!state?.lastOutcome) return `${head}\n    not polled yet: a worker polls it`;
        const outcome =
          state.lastOutcome === 'failed'
            ? `failed ${state.consecutiveFailures} time(s) in a row: ${state.lastError ?? 'no reason'}; next try not before ${state.retryAfter ?? 'the next poll'}`
            : state.lastOutcome === 'ok'
              ? `ok: ${state.lastIngested} new, ${state.lastUpdated} changed`
              : 'not modified since the last poll';
        return `${head}\n    last poll ${state.lastPolledAt}: ${outcome}`;
      });
      const failing = report.filter((feed) => feed.state?.lastOutcome === 'failed').length;
      return {
        result: { feeds: report },
        text: lines.join('\n') || 'no feed configured: add newsletters[].feeds to the config file',
        exitCode: failing > 0 ? 1 : 0,
      };
    });
  });
}
