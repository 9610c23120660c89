// `letterpress worker` runs its queues in a worker thread whose V8 heap is bounded (a small young generation and a
// cap on the old one), so a worker at full speed stays near 100 MB without any Node flag: V8's default young
// generation alone grows to ~50 MB under a send's allocation rate. The process's own thread only forwards SIGTERM and
// SIGINT (the thread stops gracefully, as a worker always does) and exits with the thread's exit code.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { loadCli } from './choose-entry.js';

/**
 * The thread's heap limits in MB. Young: 24 MB, that is 8 MB semi-spaces (V8 lets them grow to 16 MB each, most of
 * what makes a busy worker large). Measured at 30,000 readers: 4 MB semi-spaces kept a worker near 103 MB but cost
 * 14 % more CPU per message; 8 MB gives 110-114 MB at the CPU of V8's default; 16 MB, 128 MB. Old: a worker's live
 * heap is about 25 MB; the cap only stops a leak from taking the host.
 */
export const WORKER_HEAP_LIMITS = { maxYoungGenerationSizeMb: 24, maxOldGenerationSizeMb: 256 };

/** True for `letterpress [--json] worker ...` (not its --help). */
export function isWorkerCommand(argv) {
  const words = argv.filter((word) => !word.startsWith('-'));
  return words[0] === 'worker' && !argv.includes('--help') && !argv.includes('-h');
}

/** Runs the CLI with `argv` in a heap-bounded thread; resolves with its exit code. */
export function runWorkerThread(kind, argv) {
  return new Promise((resolve) => {
    const thread = new Worker(new URL(import.meta.url), {
      workerData: { kind, argv },
      resourceLimits: WORKER_HEAP_LIMITS,
    });
    const forward = (signal) => thread.postMessage({ stop: signal });
    process.on('SIGTERM', forward);
    process.on('SIGINT', forward);
    thread.on('error', (error) => process.stderr.write(`letterpress worker: ${error.message}\n`));
    thread.on('exit', (code) => {
      process.off('SIGTERM', forward);
      process.off('SIGINT', forward);
      resolve(code);
    });
  });
}

if (!isMainThread && parentPort && workerData?.argv) {
  const runCli = await loadCli(workerData.kind);
  process.exitCode = await runCli(workerData.argv);
}
