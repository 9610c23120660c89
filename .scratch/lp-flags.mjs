#!/usr/bin/env node
// The letterpress command: loads the TypeScript sources through tsx, then runs the CLI.
import { register } from 'tsx/esm/api';
import v8 from 'node:v8';
v8.setFlagsFromString(process.env.LP_V8 ?? '');

// A reader of our output that goes away (`letterpress digest preview ... | head`) is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
register();
const { runCli } = await import('../src/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2));
