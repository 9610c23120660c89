/** A whole digest as an editor makes one: the sample feed ingested, readers added, a digest created and sent. */
import type { App } from '../../src/app.js';
import { createDigest } from '../../src/digests/create-digest.js';
import type { Digest } from '../../src/digests/digest.js';
import { sendDigest } from '../../src/delivery/send-digest.js';
import { waitForDigestSettled } from '../../src/delivery/wait-for-digest.js';
import { ingestSampleFeed } from './sample-feed.js';

/**
 * Ingests the sample feed, adds `readers` active readers of the first newsletter (reader-0@example.org, ...), creates
 * its digest, sends it and waits until it settles. Workers must be running. Returns the readers' addresses and the
 * settled digest.
 */
export async function sendSampleDigest(
  app: App,
  readers: number,
  timeoutMs = 60_000,
): Promise<{ emails: string[]; digest: Digest; settled: Awaited<ReturnType<typeof waitForDigestSettled>> }> {
  await ingestSampleFeed(app);
  const newsletter = app.config.newsletters[0];
  if (!newsletter) throw new Error('no newsletter configured');
  const emails = Array.from({ length: readers }, (_, i) => `reader-${i}@example.org`);
  await app.subscribers.addMany(
    emails.map((email) => ({ email, newsletterIds: [newsletter.id], status: 'active' as const })),
  );
  const digest = await createDigest(
    { articles: app.articles, digests: app.digests, lastSentAt: (id) => app.lastSentAt(id), clock: () => new Date() },
    { newsletter, site: app.config.site },
  );
  await sendDigest(app, { digestId: digest.id });
  const settled = await waitForDigestSettled(app, digest.id, { timeoutMs });
  return { emails, digest, settled };
}
