/** `letterpress demo`: the main job end to end on embedded defaults. */
import type { Command } from 'commander';
import { z } from 'zod';
import { defineAction, parseFlags, type CommandSink } from '../command-kit.js';

const DemoFlagsSchema = z.object({
  out: z.string().min(1, { error: '--out needs a folder' }).default('./demo-out'),
  keep: z.boolean().default(false),
});

/** Registers `demo`. */
export function registerDemoCommand(program: Command, sink: CommandSink): void {
  const demo = program
    .command('demo')
    .description('run the main job end to end on embedded defaults (sample feed, sample readers, capture server)')
    .option('--out <dir>', 'where the captured messages and previews go', './demo-out')
    .option('--keep', 'keep the demo data in Redis afterwards');
  defineAction(demo, sink, async (_args, values) => {
    const flags = parseFlags(DemoFlagsSchema, values);
    const { runDemo } = await import('../../demo/run-demo.js');
    const summary = await runDemo({ outDir: flags.out, keepData: flags.keep, env: process.env });
    return { result: summary, text: summary.text };
  });
}
