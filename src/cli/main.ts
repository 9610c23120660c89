/**
 * The `letterpress` command. Every command takes `--json` for a machine-readable result on stdout; on failure it
 * prints a one-line reason on stderr (and `{ "error": ... }` on stdout with `--json`) and exits non-zero.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AppError, isAppError } from '../errors.js';
import { commands, type CommandOutput } from './commands.js';

/** Exit codes: 0 success, 1 a failure of the operation, 2 a usage error. */
export const ExitCode = { ok: 0, failed: 1, usage: 2 } as const;

const USAGE = `usage: letterpress <command> [options]

  demo [--out DIR] [--keep]                     run the main job end to end on embedded defaults
  ingest <file|url>...                          ingest RSS, Atom or JSON feeds
  articles list [--limit N]                     list stored articles, newest first
  subscribers add <email> [--newsletter ID]... [--resubscribe]
                                                add an active subscriber (--resubscribe: a reader who left opted in again)
  subscribers remove <email> [--newsletter ID]...
                                                unsubscribe at once (all newsletters unless named)
  digest create --newsletter ID [--since ISO]   build and freeze a digest; prints its id
  digest preview <id> --format html|text|eml [--out FILE]
  digest send <id> [--wait] [--timeout SECONDS] send a digest (once per reader, however often it is run)
  digest status <id>                            show a digest's state and counts
  digest resume <id> | digest cancel <id>       continue a paused digest, or withdraw one
  worker                                        run the queue workers (fan-out, delivery)
  serve                                         run the HTTP server (one-click unsubscribe, health)

Every command takes --json. Configuration comes from the environment: see README.md and .env.example.`;

/** Runs the CLI with the given arguments and returns the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const wantsJson = argv.includes('--json');
  const [first, second] = argv;
  if (!first || first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return first ? ExitCode.ok : ExitCode.usage;
  }
  const twoWord = second ? commands[`${first} ${second}`] : undefined;
  const command = twoWord ?? commands[first];
  if (!command) return fail(new AppError('input_invalid', `unknown command "${[first, second].filter(Boolean).join(' ')}"; run letterpress --help`), wantsJson, ExitCode.usage);
  const rest = argv.slice(twoWord ? 2 : 1);

  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    const config: ParseArgsConfig = {
      args: rest,
      options: { json: { type: 'boolean' }, ...command.options },
      allowPositionals: true,
      strict: true,
    };
    parsed = parseArgs(config) as typeof parsed;
  } catch (error) {
    return fail(new AppError('input_invalid', (error as Error).message), wantsJson, ExitCode.usage);
  }

  try {
    const output: CommandOutput = await command.run({ values: parsed.values, positionals: parsed.positionals });
    if (wantsJson) process.stdout.write(`${JSON.stringify(output.result)}\n`);
    else if (output.text) process.stdout.write(`${output.text}\n`);
    return output.exitCode ?? ExitCode.ok;
  } catch (error) {
    const usage = isAppError(error, 'input_invalid');
    return fail(error, wantsJson, usage ? ExitCode.usage : ExitCode.failed);
  }
}

function fail(error: unknown, wantsJson: boolean, exitCode: number): number {
  const code = isAppError(error) ? error.code : 'internal';
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? 'unknown error';
  if (wantsJson) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  process.stderr.write(`letterpress: ${message}\n`);
  return exitCode;
}
