/** Starts bench/sink.ts as its own process and talks to it over its HTTP control channel. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { stopChild } from './child-process-protocol.js';
import type { SinkSummary } from './sink.js';
import type { RateWindowSummary } from './summarize-acceptances.js';

/** The repository root (bench/..). */
export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** A sink process and its controls. */
export interface SinkProcess {
  pid: number;
  smtpUrl: string;
  /** Clears the counters; latencies are measured from `t0` (epoch ms). */
  startPhase(t0: number): Promise<void>;
  /** Messages accepted in the current phase. */
  count(): Promise<number>;
  /** The phase's acceptances per 1-second window against a target rate. */
  rateWindows(targetPerSecond: number): Promise<RateWindowSummary>;
  summary(): Promise<SinkSummary>;
  /** The `index`-th message accepted in the current phase (the first `SAMPLE_LIMIT` are kept), raw. @defaultValue 0 */
  sample(index?: number): Promise<Buffer | undefined>;
  stop(): Promise<void>;
}

const ReadyLineSchema = z.object({ smtpPort: z.number().int().positive(), controlPort: z.number().int().positive() });

/** Spawns the counting sink and waits for its ready line. */
export async function startSinkProcess(): Promise<SinkProcess> {
  const child = spawn(process.execPath, ['bin/run-ts.js', 'bench/sink.ts'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<z.infer<typeof ReadyLineSchema>>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`sink exited before it was ready (code ${code})`)));
    lines.once('line', (line) => {
      try {
        resolve(ReadyLineSchema.parse(JSON.parse(line)));
      } catch (error) {
        reject(new Error(`sink printed an unexpected ready line: ${line} (${(error as Error).message})`));
      }
    });
  });
  const base = `http://127.0.0.1:${ready.controlPort}`;
  const call = async (method: string, path: string): Promise<Response> => {
    const response = await fetch(`${base}${path}`, { method });
    if (!response.ok && response.status !== 404) throw new Error(`sink ${method} ${path}: HTTP ${response.status}`);
    return response;
  };
  return {
    pid: child.pid ?? 0,
    smtpUrl: `smtp://127.0.0.1:${ready.smtpPort}`,
    startPhase: async (t0) => {
      await call('POST', `/phase?t0=${t0}`);
    },
    count: async () => z.object({ accepted: z.number() }).parse(await (await call('GET', '/count')).json()).accepted,
    rateWindows: async (target) =>
      (await (await call('GET', `/rate-windows?target=${target}`)).json()) as RateWindowSummary,
    summary: async () => (await (await call('GET', '/summary')).json()) as SinkSummary,
    sample: async (index = 0) => {
      const response = await call('GET', `/sample?index=${index}`);
      return response.status === 404 ? undefined : Buffer.from(await response.arrayBuffer());
    },
    stop: () => stopChild(child),
  };
}

/** Polls the sink until it has accepted `expected` messages; throws when `isStalled()` says progress stopped. */
export async function waitForAcceptances(
  sink: Pick<SinkProcess, 'count'>,
  expected: number,
  options: { pollMs?: number; stallMs?: number; onProgress?: (accepted: number) => void } = {},
): Promise<void> {
  const pollMs = options.pollMs ?? 100;
  const stallMs = options.stallMs ?? 60_000;
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const accepted = await sink.count();
    if (accepted !== last) {
      last = accepted;
      lastChange = Date.now();
      options.onProgress?.(accepted);
    }
    if (accepted >= expected) return;
    if (Date.now() - lastChange > stallMs) {
      throw new Error(
        `the sink has accepted ${accepted} of ${expected} messages and nothing arrived for ${stallMs / 1000} s`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
