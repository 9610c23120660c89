/**
 * The digest every run sends: the same newsletter, articles, frozen body and secret, written once by the benchmark
 * to a temp file and read (through its schema) by the baseline processes, so all three runs send the same message.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { ArticleSchema } from '../src/articles/article.js';
import { NewsletterSchema, SiteSchema } from '../src/config.js';
import { DigestBodySchema } from '../src/digests/digest.js';
import { parseInput } from '../src/errors.js';

/** What a baseline process needs to build the digest message for any reader. */
export const BenchFixtureSchema = z.object({
  digestId: z.string().min(1),
  newsletter: NewsletterSchema,
  site: SiteSchema.extend({ mailDomain: z.string().min(1) }),
  articles: z.array(ArticleSchema).min(1),
  issueDate: z.string().datetime({ offset: true }),
  secret: z.string().min(32),
  /** The frozen render, as the real path sends it. */
  body: DigestBodySchema,
});
export type BenchFixture = z.infer<typeof BenchFixtureSchema>;

/** Writes the fixture as JSON. */
export async function writeBenchFixture(path: string, fixture: BenchFixture): Promise<void> {
  await writeFile(path, JSON.stringify(fixture));
}

/** Reads and validates a fixture file. */
export async function readBenchFixture(path: string): Promise<BenchFixture> {
  return parseInput(BenchFixtureSchema, JSON.parse(await readFile(path, 'utf8')), `bench fixture ${path}`);
}

/** The address the benchmark gives reader N (the sink recognises `reader<N>@` to find duplicates). */
export function benchReaderEmail(index: number): string {
  return `reader${index}@bench.example`;
}
