/** The bundled sample feed (twelve articles of a fictional town paper), stored in a test's app through real ingest. */
import type { App } from '../../src/app.js';
import { ingestSources } from '../../src/articles/ingest-sources.js';
import { silentLogger } from '../../src/logger.js';

/** Where the sample feed lives, relative to the repository root. */
export const SAMPLE_FEED_PATH = 'src/demo/sample-feed.xml';

/** Ingests the sample feed into the app's article store; throws if it was rejected. */
export async function ingestSampleFeed(app: App): Promise<void> {
  const report = await ingestSources(
    { store: app.articles, logger: silentLogger, maxBytes: 10_000_000, fetchTimeoutMs: 5_000, allowFilePaths: true },
    [SAMPLE_FEED_PATH],
  );
  if (report.rejected.length > 0) throw new Error(`the sample feed was rejected: ${report.rejected[0]?.reason}`);
}
