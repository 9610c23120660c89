/**
 * The `letterpress` command, on commander. Every command takes `--json` (anywhere on the line) for one JSON document
 * on stdout; on failure it prints a one-line reason on stderr (and `{ "error": ... }` on stdout with `--json`) and
 * exits 1, or 2 for a usage error. `--help` works at every level, and a group name alone lists its subcommands.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError, isAppError } from '../errors.js';
import { ExitCode, type CommandOutput, type CommandSink, type GlobalFlags } from './command-kit.js';
import { registerArticleCommands } from './commands/articles.js';
import { registerAuditCommand } from './commands/audit.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerDigestCommands } from './commands/digest.js';
import { registerFeedCommands } from './commands/feeds.js';
import { registerProcessCommands } from './commands/processes.js';
import { registerOpsCommands } from './commands/ops.js';
import { registerQueueCommands } from './commands/queue.js';
import { registerRateCommands } from './commands/rate.js';
import { registerSubscriberCommands } from './commands/subscribers.js';

export { ExitCode };

/** The version in the nearest package.json above this file (the sources and the compiled build alike). */
function readVersion(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth += 1) {
    try {
      const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === 'letterpress' && manifest.version) return manifest.version;
    } catch {
      // not here; look one folder up
    }
    folder = dirname(folder);
  }
  return 'unknown';
}

/** Builds the program; `sink` receives each command's output. */
export function buildProgram(sink: CommandSink): Command {
  const program = new Command('letterpress')
    .description('Newsletter delivery for independent publications: feeds in, digests out, no tracking, no cookies.')
    .version(readVersion(), '-V, --version', 'print the version')
    .option('--json', 'print one JSON document on stdout (every command)')
    .helpOption('-h, --help', 'show help for the command')
    .helpCommand(false)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => process.stdout.write(text),
      writeErr: (text) => process.stderr.write(text),
      // Errors are printed once, in our own one-line form, by runCli.
      outputError: () => undefined,
    })
    .addHelpText('after', '\nConfiguration comes from the environment: see README.md and .env.example.');
  registerDemoCommand(program, sink);
  registerArticleCommands(program, sink);
  registerSubscriberCommands(program, sink);
  registerDigestCommands(program, sink);
  registerAuditCommand(program, sink);
  registerFeedCommands(program, sink);
  registerQueueCommands(program, sink);
  registerRateCommands(program, sink);
  registerOpsCommands(program, sink);
  registerProcessCommands(program, sink);
  return program;
}

/** The operands of argv without flags, to recognise `letterpress <group>` alone. */
function bareWords(argv: string[]): string[] {
  return argv.filter((word) => !word.startsWith('-'));
}

/** Runs the CLI with the given arguments and returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const wantsJson = argv.includes('--json');
  let produced: { output: CommandOutput; globals: GlobalFlags } | undefined;
  const program = buildProgram({ output: (output, globals) => (produced = { output, globals }) });

  if (argv.length === 0) {
    program.outputHelp();
    return ExitCode.usage;
  }
  const words = bareWords(argv);
  const group =
    words.length === 1 ? program.commands.find((c) => c.name() === words[0] && c.commands.length > 0) : undefined;
  if (group && !argv.includes('-h') && !argv.includes('--help')) {
    // A group alone: list what it offers.
    group.outputHelp();
    return ExitCode.ok;
  }

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return ExitCode.ok;
      const reason = error.message.replace(/^error: /, '');
      const hint = error.code === 'commander.unknownCommand' ? '; run letterpress --help' : '';
      return fail(new AppError('input_invalid', `${reason}${hint}`), wantsJson, ExitCode.usage);
    }
    return fail(error, wantsJson, isAppError(error, 'input_invalid') ? ExitCode.usage : ExitCode.failed);
  }
  if (!produced) return ExitCode.ok;
  const { output, globals } = produced;
  if (globals.json) process.stdout.write(`${JSON.stringify(output.result)}\n`);
  else if (output.text) process.stdout.write(`${output.text}\n`);
  return output.exitCode ?? ExitCode.ok;
}

function fail(error: unknown, wantsJson: boolean, exitCode: number): number {
  const code = isAppError(error) ? error.code : 'internal';
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown error';
  if (wantsJson) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  process.stderr.write(`letterpress: ${message}\n`);
  return exitCode;
}
