/** `letterpress ingest` and `letterpress articles ...`: feeds in, articles listed. */
import type { Command } from 'commander';
import { z } from 'zod';
import { defineAction, defineGroup, parseFlags, wholeNumberFlag, withApp, type CommandSink } from '../command-kit.js';

const IngestSourcesSchema = z.array(z.string().min(1)).min(1, { error: 'name at least one feed file or URL' });
const ArticlesListFlagsSchema = z.object({ limit: wholeNumberFlag('limit', { min: 1, max: 1000 }).default(50) });

/** Registers `ingest` and the `articles` group. */
export function registerArticleCommands(program: Command, sink: CommandSink): void {
  const ingest = program
    .command('ingest')
    .description('ingest RSS, Atom or JSON feeds from files or URLs')
    .argument('<source...>', 'feed files or http(s) URLs');
  defineAction(ingest, sink, async (args) => {
    const sources = parseFlags(IngestSourcesSchema, args);
    return withApp(async (app, config) => {
      const { ingestSources } = await import('../../articles/ingest-sources.js');
      const report = await ingestSources(
        {
          store: app.articles,
          logger: app.logger,
          maxBytes: config.feed.maxBytes,
          fetchTimeoutMs: config.feed.fetchTimeoutMs,
          allowPrivateAddresses: config.feed.allowPrivateAddresses,
          allowFilePaths: true,
        },
        sources,
      );
      await app.metrics.recordIngestReport(report, new Date());
      const lines = [
        `ingested ${report.ingested}, updated ${report.updated}, unchanged ${report.unchanged}, ` +
          `refused ${report.outdated} older and ${report.collisions} owned by another source, ` +
          `rejected sources ${report.rejected.length}`,
        ...report.refused.map((r) =>
          r.reason === 'outdated'
            ? `  refused "${r.title}" from ${r.source}: a newer version is stored`
            : `  refused "${r.title}" from ${r.source}: the article belongs to ${r.ownedBy ?? 'another source'}`,
        ),
        ...report.rejected.map((r) => `  rejected ${r.source}: ${r.reason}`),
      ];
      return {
        result: report,
        text: lines.join('\n'),
        exitCode: report.rejected.length > 0 && report.rejected.length === sources.length ? 1 : 0,
      };
    });
  });

  const articles = defineGroup(program, 'articles', 'stored articles');
  const list = articles
    .command('list')
    .description('list stored articles, newest first')
    .option('--limit <n>', 'how many (1-1000)', '50');
  defineAction(list, sink, async (_args, values) => {
    const flags = parseFlags(ArticlesListFlagsSchema, values);
    return withApp(async (app) => {
      const found = await app.articles.list(flags.limit);
      const text = found.map((a) => `${a.publishedAt}  [${a.section}]  ${a.title}\n    ${a.url}`).join('\n');
      return {
        result: { articles: found.map(({ contentHtml: _content, ...rest }) => rest) },
        text: text || 'no articles yet: run `letterpress ingest <feed>`',
      };
    });
  });
}
