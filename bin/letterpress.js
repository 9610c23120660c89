#!/usr/bin/env node
// The letterpress command: runs the compiled build when it is up to date (see choose-entry.js), else the
// TypeScript sources through tsx. `letterpress worker` runs in a heap-bounded thread (see worker-thread.js).
import { fileURLToPath } from 'node:url';
import { chooseEntry, loadCli } from './choose-entry.js';

// A reader of our output that goes away (`letterpress digest preview ... | head`) is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
const entry = chooseEntry(fileURLToPath(new URL('..', import.meta.url)));
const argv = process.argv.slice(2);
const { isWorkerCommand, runWorkerThread } = await import('./worker-thread.js');
if (isWorkerCommand(argv)) {
  process.exitCode = await runWorkerThread(entry.kind, argv);
} else {
  const runCli = await loadCli(entry.kind);
  process.exitCode = await runCli(argv);
}
