/** `letterpress worker` in a heap-bounded thread (see worker-thread.js). */
export declare const WORKER_HEAP_LIMITS: { maxYoungGenerationSizeMb: number; maxOldGenerationSizeMb: number };
/** True for `letterpress [--json] worker ...` (not its --help). */
export declare function isWorkerCommand(argv: string[]): boolean;
/** Runs the CLI with `argv` in a heap-bounded thread; resolves with its exit code. */
export declare function runWorkerThread(kind: 'dist' | 'sources', argv: string[]): Promise<number>;
