/**
 * What `digest send --wait` shows while it waits, on stderr (stdout keeps the result): a progress bar on a terminal
 * (cli-progress: settled of recipients, delivered, failed, rate, ETA), plain lines otherwise (a log or a CI job),
 * and a warning when no worker is beating, since then nothing will move.
 */
import type { Digest } from '../digests/digest.js';

/** Where progress goes and how it looks. */
export interface SendProgressOptions {
  stream: NodeJS.WriteStream;
  /** A bar on a terminal, lines otherwise. @defaultValue stream.isTTY */
  isTerminal?: boolean;
  /** Show nothing (`--json` read by a script). @defaultValue false */
  isQuiet?: boolean;
  /** Milliseconds between two plain lines (a line is also written when the digest comes to rest). @defaultValue 5000 */
  lineEveryMs?: number;
  clock?: () => number;
}

/** A progress display. */
export interface SendProgress {
  update(digest: Digest): void;
  /** Says once whether a worker is beating (again only when that changes). */
  noteWorkers(alive: number): void;
  stop(): void;
}

/** Settled readers per second over the last ten seconds or so. */
class RateWindow {
  private readonly samples: { at: number; settled: number }[] = [];
  add(at: number, settled: number): number {
    this.samples.push({ at, settled });
    while (this.samples.length > 2 && at - (this.samples[0]?.at ?? at) > 10_000) this.samples.shift();
    const first = this.samples[0];
    if (!first || at === first.at) return 0;
    return ((settled - first.settled) * 1000) / (at - first.at);
  }
}

function settledOf(digest: Digest): number {
  return digest.counts.delivered + digest.counts.failed + digest.counts.skipped;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return '-';
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  return `${Math.ceil(seconds / 60)} min`;
}

/** Creates the display for one digest. */
export async function createSendProgress(options: SendProgressOptions): Promise<SendProgress> {
  const clock = options.clock ?? Date.now;
  const rate = new RateWindow();
  let workersSaid: boolean | undefined;
  const say = (line: string) => options.stream.write(`${line}\n`);
  if (options.isQuiet) return { update: () => undefined, noteWorkers: () => undefined, stop: () => undefined };

  if (options.isTerminal ?? options.stream.isTTY) {
    const { SingleBar } = (await import('cli-progress')).default;
    const bar = new SingleBar({
      stream: options.stream,
      format:
        ' {bar} {value}/{total} settled | delivered {delivered}, failed {failed}, skipped {skipped} | {rate}/s | ETA {eta}',
      hideCursor: true,
      clearOnComplete: false,
      barsize: 30,
    });
    let isStarted = false;
    return {
      update(digest) {
        const settled = settledOf(digest);
        const perSecond = rate.add(clock(), settled);
        const payload = {
          ...digest.counts,
          rate: perSecond.toFixed(0),
          eta: formatEta((digest.counts.recipients - settled) / perSecond),
        };
        if (!isStarted) {
          bar.start(Math.max(1, digest.counts.recipients), settled, payload);
          isStarted = true;
        }
        bar.setTotal(Math.max(1, digest.counts.recipients));
        bar.update(settled, payload);
      },
      noteWorkers(alive) {
        const isRunning = alive > 0;
        if (workersSaid === isRunning) return;
        workersSaid = isRunning;
        // Clear the bar's line, say it, and let the next update draw the bar again below.
        if (!isRunning)
          options.stream.write('\r\x1b[Kno worker is running: start `letterpress worker` (the digest waits for one)\n');
      },
      stop: () => bar.stop(),
    };
  }

  let lastLineAt = Number.NEGATIVE_INFINITY;
  let lastLine = '';
  return {
    update(digest) {
      const now = clock();
      const settled = settledOf(digest);
      const perSecond = rate.add(now, settled);
      const c = digest.counts;
      const line =
        `digest ${digest.id}: ${digest.status}; settled ${settled} of ${c.recipients} ` +
        `(delivered ${c.delivered}, failed ${c.failed}, skipped ${c.skipped}); ` +
        `${perSecond.toFixed(0)}/s; ETA ${formatEta((c.recipients - settled) / perSecond)}`;
      const isResting = digest.status !== 'sending' && digest.status !== 'ready';
      if (line !== lastLine && (isResting || now - lastLineAt >= (options.lineEveryMs ?? 5_000))) {
        say(line);
        lastLine = line;
        lastLineAt = now;
      }
    },
    noteWorkers(alive) {
      const isRunning = alive > 0;
      if (workersSaid === isRunning) return;
      if (!isRunning) say('no worker is running: start `letterpress worker` (the digest waits for one)');
      else if (workersSaid === false) say(`${alive} worker(s) running again`);
      workersSaid = isRunning;
    },
    stop: () => undefined,
  };
}
