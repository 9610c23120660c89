/**
 * The shared corpus of real and synthetic feeds (RSS, Atom, RDF, JSON Feed; well-formed, ill-formed, real-world):
 * every file either becomes schema-valid, tracking-free articles or is turned down with a reason. Nothing else.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArticleSchema } from '../../src/articles/article.js';
import { parseFeed } from '../../src/articles/parse-feed.js';
import { isAppError } from '../../src/errors.js';
import { FEED_FIXTURES, hasFeedFixtures } from './feed-fixtures.js';

const NOW = new Date('2026-11-27T12:00:00Z');
const folders = ['wellformed', 'illformed', 'realworld'] as const;

if (!hasFeedFixtures) console.warn(`skipping the feed corpus tests: ${FEED_FIXTURES} does not exist`);

describe.skipIf(!hasFeedFixtures)(
  'every feed in the shared corpus is either ingested cleanly or refused with a reason',
  () => {
    for (const folder of folders) {
      const files = hasFeedFixtures ? readdirSync(path.join(FEED_FIXTURES, folder)).sort() : [];
      it.each(files)(`${folder}/%s`, (file) => {
        const bytes = readFileSync(path.join(FEED_FIXTURES, folder, file));
        let outcome: ReturnType<typeof parseFeed>;
        try {
          outcome = parseFeed(bytes, { source: `${folder}/${file}`, maxBytes: 10 * 1024 * 1024, now: NOW });
        } catch (error) {
          expect(
            isAppError(error, 'feed_rejected'),
            `threw something other than a feed_rejected AppError: ${String(error)}`,
          ).toBe(true);
          expect((error as Error).message).toMatch(/^feed_rejected: \S.{5,}/);
          return;
        }
        for (const article of outcome.articles) {
          expect(ArticleSchema.safeParse(article).success).toBe(true);
          // The pledge, checked on everything the corpus yields: no tracking parameter, no pixel, no active content.
          const everything = `${article.url} ${article.image?.url ?? ''} ${article.contentHtml}`;
          expect(everything).not.toMatch(/[?&;](?:utm_[a-z]+|fbclid|gclid|mc_eid)=/i);
          expect(article.contentHtml).not.toMatch(
            /<script|<iframe|<style|<object|<embed|\son[a-z]+\s*=|javascript:|\sstyle=/i,
          );
          expect(article.contentHtml).not.toMatch(/<img[^>]+(?:width|height)="[01]"/);
          expect(article.contentHtml).not.toMatch(
            /feeds\.feedburner\.com\/~(?:r|ff)\/|medium\.com\/_\/stat|pixel\.wp\.com|stats\.wordpress\.com/,
          );
        }
        // Every entry is accounted for: an article or a counted reason.
        const skipped = outcome.skipped.reduce((sum, s) => sum + s.count, 0);
        expect(outcome.articles.length + skipped).toBe(outcome.entryCount);
      });
    }
  },
);
