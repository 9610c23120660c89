/**
 * Unpublishing (the CMS webhook's `unpublished` ids): the articles leave the store, so nothing suggests them again,
 * and every issue not yet sent drops them: a draft simply loses them; a scheduled (or frozen, ready) issue is taken
 * back to a draft, loses them, and is frozen again as it was, its schedule kept. An issue left with nothing to send
 * stays a draft for an editor to look at. Issues already going out are not changed: some readers have them.
 */
import type { ArticleStore } from '../articles/article-store.js';
import { articleIdFor } from '../articles/article-identity.js';
import type { Config } from '../config.js';
import { isAppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { UNSENT_STATUSES, type Digest, type DigestStatus } from './digest.js';
import type { DraftChange } from './digest-store.js';
import { freezeDigest, type FreezeDigestDeps } from './freeze-digest.js';

/** What unpublishing needs. */
export interface UnpublishArticlesDeps {
  articles: Pick<ArticleStore, 'resolveCmsIds' | 'removeMany' | 'getMany'>;
  digests: FreezeDigestDeps['digests'] & {
    listByNewsletter(newsletterId: string, limit: number): Promise<Digest[]>;
    updateDraft(id: string, change: DraftChange, expectedRevision?: number): Promise<number>;
    unfreeze(
      digest: Pick<Digest, 'id' | 'newsletterId'>,
      options: { from: DigestStatus[]; to: 'draft' | 'cancelled'; updatedBy: string },
    ): Promise<DigestStatus | undefined>;
  };
  config: Pick<Config, 'newsletters' | 'site'>;
  clock: () => Date;
  logger: Logger;
}

/** What an unpublish changed. */
export interface UnpublishReport {
  /** Articles taken out of the store. */
  removed: number;
  /** CMS ids that name no article we hold. */
  unknown: string[];
  /** Unsent issues that dropped an article, and the status each is in now. */
  digests: { digestId: string; status: DigestStatus; note?: string }[];
}

/** Recent issues of each newsletter looked through for unsent ones. */
const UNSENT_SCAN = 200;
const WHO = 'unpublish';

/** Our article ids for the CMS's ids: those the webhook delivered, and URI ids hashed as ingest hashes them. */
async function resolveIds(deps: UnpublishArticlesDeps, cmsIds: string[]) {
  const known = await deps.articles.resolveCmsIds(cmsIds);
  const direct = cmsIds.filter((id) => !known.has(id) && /^[a-z][a-z0-9+.-]*:/i.test(id));
  const stored = new Set(
    (await deps.articles.getMany(direct.map((id) => articleIdFor({ guid: id }) ?? ''))).map((article) => article.id),
  );
  for (const id of direct) {
    const articleId = articleIdFor({ guid: id });
    if (articleId && stored.has(articleId)) known.set(id, articleId);
  }
  return { articleIds: [...new Set(known.values())], unknown: cmsIds.filter((id) => !known.has(id)) };
}

/** Takes the articles out of one unsent issue (see the module comment). */
async function dropFromIssue(deps: UnpublishArticlesDeps, digest: Digest, gone: ReadonlySet<string>) {
  const newsletter = deps.config.newsletters.find((candidate) => candidate.id === digest.newsletterId);
  const articleIds = digest.articleIds.filter((id) => !gone.has(id));
  if (digest.status === 'draft' || !newsletter) {
    await deps.digests.updateDraft(digest.id, { articleIds, updatedBy: WHO });
    return { digestId: digest.id, status: 'draft' as DigestStatus };
  }
  const previous = await deps.digests.unfreeze(digest, { from: ['scheduled', 'ready'], to: 'draft', updatedBy: WHO });
  if (previous !== 'scheduled' && previous !== 'ready') return undefined; // it started going out meanwhile
  await deps.digests.updateDraft(digest.id, { articleIds, updatedBy: WHO });
  try {
    const { digest: frozen } = await freezeDigest(deps, {
      digestId: digest.id,
      newsletter,
      site: deps.config.site,
      target: previous,
      scheduledFor: digest.scheduledFor ? new Date(digest.scheduledFor) : undefined,
      by: WHO,
    });
    return { digestId: digest.id, status: frozen.status };
  } catch (error) {
    if (!isAppError(error, 'digest_empty')) throw error;
    return { digestId: digest.id, status: 'draft' as DigestStatus, note: 'nothing left to send: back to a draft' };
  }
}

/** Unpublishes the articles the CMS names by its ids (see the module comment). */
export async function unpublishArticles(deps: UnpublishArticlesDeps, cmsIds: string[]): Promise<UnpublishReport> {
  const { articleIds, unknown } = await resolveIds(deps, cmsIds);
  const removed = await deps.articles.removeMany(articleIds);
  const gone = new Set(articleIds);
  const changed: UnpublishReport['digests'] = [];
  for (const newsletter of deps.config.newsletters) {
    const issues = await deps.digests.listByNewsletter(newsletter.id, UNSENT_SCAN);
    for (const digest of issues) {
      if (!UNSENT_STATUSES.includes(digest.status) || !digest.articleIds.some((id) => gone.has(id))) continue;
      const result = await dropFromIssue(deps, digest, gone);
      if (result) changed.push(result);
    }
  }
  deps.logger.info({ removed, unknown: unknown.length, digests: changed.length }, 'articles unpublished');
  return { removed, unknown, digests: changed };
}
