/**
 * Baseline 2, the tutorial pipeline most queue examples show: one BullMQ job per recipient; the job renders the
 * digest (MJML compiled every time) and sends it with `sendMail`. Same digest, same connection count, same number
 * of worker processes as the real path.
 *
 * The worker runs as a process: `node bin/run-ts.js bench/baseline-tutorial-pipeline.ts <fixture.json> <redisUrl>
 * <smtpUrl> <connections> <concurrency>`; `enqueueTutorialJobs` is what the benchmark calls to start the run.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { renderDigest } from '../src/digests/render-digest.js';
import { parseInput } from '../src/errors.js';
import { bareMailOptions, createBaselineTransport } from './baseline-bare-nodemailer.js';
import { readBenchFixture, type BenchFixture } from './bench-fixture.js';
import { serveAsBenchChild } from './child-process-protocol.js';

/** The tutorial's queue and BullMQ prefix (kept apart from the real path's keys). */
export const TUTORIAL_QUEUE = 'tutorial-send';
export const TUTORIAL_PREFIX = '{bench-tutorial}';

/** One job per reader. */
export const TutorialJobSchema = z.object({ readerIndex: z.number().int().positive() });

/** Enqueues one job per reader 1..messages, in chunks, the way a tutorial's "send to everyone" loop does. */
export async function enqueueTutorialJobs(redisUrl: string, messages: number): Promise<void> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(TUTORIAL_QUEUE, { connection, prefix: TUTORIAL_PREFIX });
  try {
    for (let start = 1; start <= messages; start += 1_000) {
      const end = Math.min(messages, start + 999);
      await queue.addBulk(
        Array.from({ length: end - start + 1 }, (_, i) => ({ name: 'send', data: { readerIndex: start + i } })),
      );
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** Starts a tutorial worker: every job renders the digest from its articles and sends it to one reader. */
export function startTutorialWorker(
  fixture: BenchFixture,
  options: { redisUrl: string; smtpUrl: string; connections: number; concurrency: number },
): { close(): Promise<void>; ready: Promise<void> } {
  const transport = createBaselineTransport(options.smtpUrl, options.connections);
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker(
    TUTORIAL_QUEUE,
    async (job) => {
      const { readerIndex } = TutorialJobSchema.parse(job.data);
      const body = await renderDigest({
        newsletter: fixture.newsletter,
        site: fixture.site,
        articles: fixture.articles,
        issueDate: new Date(fixture.issueDate),
      });
      await transport.sendMail(bareMailOptions({ ...fixture, body }, readerIndex));
    },
    { connection, prefix: TUTORIAL_PREFIX, concurrency: options.concurrency },
  );
  worker.on('failed', (job, error) => process.stderr.write(`tutorial job ${job?.id} failed: ${error.message}\n`));
  return {
    ready: worker.waitUntilReady().then(() => undefined),
    close: async () => {
      await worker.close();
      transport.close();
      connection.disconnect();
    },
  };
}

const ArgumentsSchema = z.tuple([
  z.string().min(1),
  z.string().url(),
  z.string().url(),
  z.coerce.number().int().min(1),
  z.coerce.number().int().min(1),
]);

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const [fixturePath, redisUrl, smtpUrl, connections, concurrency] = parseInput(
    ArgumentsSchema,
    process.argv.slice(2),
    'tutorial worker arguments',
  );
  const fixture = await readBenchFixture(fixturePath);
  const worker = startTutorialWorker(fixture, { redisUrl, smtpUrl, connections, concurrency });
  await worker.ready;
  await serveAsBenchChild(() => worker.close());
}
