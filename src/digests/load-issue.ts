/**
 * An issue as it stands: a frozen digest's stored body, or a draft rendered now exactly as freezing would render it.
 * Previews and test sends read it, so an editor sees and receives what readers will.
 */
import type { Article } from '../articles/article.js';
import type { Config, Newsletter } from '../config.js';
import { AppError } from '../errors.js';
import type { Digest, DigestBody, DigestComposition, DigestWeb, OmittedArticle } from './digest.js';
import { renderIssue } from './render-issue.js';

/** What loading an issue needs from the world. */
export interface LoadIssueDeps {
  digests: {
    get(id: string): Promise<Digest | undefined>;
    getBody(id: string): Promise<DigestBody | undefined>;
    getWeb(id: string): Promise<DigestWeb | undefined>;
    getComposition(id: string): Promise<DigestComposition>;
  };
  articles: { getMany(ids: string[]): Promise<Article[]> };
  clock: () => Date;
}

/** An issue's email and what the editor should know about it. */
export interface LoadedIssue {
  digest: Digest;
  body: DigestBody;
  /** Bytes of the HTML part as a reader receives it. */
  htmlBytes: number;
  budgetBytes: number;
  /** Articles the email leaves out, and why. */
  omitted: OmittedArticle[];
  /** Even the shortest email passes the budget. */
  isOverBudget: boolean;
  /** True once frozen: this is exactly what goes (or went) out. */
  isFrozen: boolean;
}

/** Loads (or, for a draft, renders) an issue. Throws `digest_not_found`, and `digest_empty` for an empty draft. */
export async function loadIssue(
  deps: LoadIssueDeps,
  input: { digestId: string; newsletter: Newsletter; site: Config['site'] },
): Promise<LoadedIssue> {
  const digest = await deps.digests.get(input.digestId);
  if (!digest) throw new AppError('digest_not_found', `no digest "${input.digestId}"`);
  const budgetBytes = input.site.htmlBudgetKb * 1024;
  if (digest.status !== 'draft') {
    const [body, web] = await Promise.all([deps.digests.getBody(digest.id), deps.digests.getWeb(digest.id)]);
    if (!body) throw new AppError('digest_not_found', `digest "${digest.id}" has no frozen body`);
    const htmlBytes = digest.htmlBytes ?? Buffer.byteLength(body.html.join(''));
    return {
      digest,
      body,
      htmlBytes,
      budgetBytes,
      omitted: web?.omitted ?? [],
      isOverBudget: htmlBytes > budgetBytes,
      isFrozen: true,
    };
  }
  const [composition, found] = await Promise.all([
    deps.digests.getComposition(digest.id),
    deps.articles.getMany(digest.articleIds),
  ]);
  const rendered = await renderIssue({
    digest,
    composition,
    articles: found,
    newsletter: input.newsletter,
    site: input.site,
    issueDate: deps.clock(),
  });
  return {
    digest,
    body: rendered.body,
    htmlBytes: rendered.htmlBytes,
    budgetBytes: rendered.budgetBytes,
    omitted: rendered.omitted,
    isOverBudget: rendered.isOverBudget,
    isFrozen: false,
  };
}
