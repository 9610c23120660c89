/**
 * Freezing a draft: render it once for good (the email within its budget, and the web version) and store it as
 * `ready` to send now or `scheduled` for later. From here on the digest is immutable. Articles another frozen issue
 * of the newsletter already carries are dropped unless an editor pinned them, so two issues never repeat an article
 * by accident; the store checks that atomically, and a conflict found there means dropping and rendering again.
 */
import type { Article } from '../articles/article.js';
import type { Config, Newsletter } from '../config.js';
import { AppError } from '../errors.js';
import type { Digest, DigestComposition, OmittedArticle } from './digest.js';
import type { FreezeChange, FreezeOutcome } from './digest-store.js';
import { freezeDigestImages, type FreezeDigestImagesInput, type FrozenDigestImages } from './freeze-digest-images.js';
import { renderIssue, type RenderedIssue } from './render-issue.js';

/** What freezing needs from the world. */
export interface FreezeDigestDeps {
  digests: {
    get(id: string): Promise<Digest | undefined>;
    getComposition(id: string): Promise<DigestComposition>;
    freeze(
      digest: Pick<Digest, 'id' | 'newsletterId'>,
      change: FreezeChange,
      expectedRevision?: number,
    ): Promise<FreezeOutcome>;
  };
  articles: { getMany(ids: string[]): Promise<Article[]> };
  clock: () => Date;
  /**
   * Applies the newsletter's image policy once, before the render (`App.freezeImages` embeds images; never in a
   * delivery worker). @defaultValue the `remote` and `none` policies only; `embedded` is refused without it
   */
  freezeImages?: (input: FreezeDigestImagesInput) => Promise<FrozenDigestImages>;
}

/** Input of `freezeDigest`. */
export interface FreezeDigestInput {
  digestId: string;
  newsletter: Newsletter;
  site: Config['site'];
  /** `ready` to send at once, `scheduled` to send at `scheduledFor`. */
  target: 'ready' | 'scheduled';
  scheduledFor?: Date;
  /** Who froze it (an editor's name, `schedule`, `cli`). */
  by: string;
  /** Refuse when the draft changed since this revision (an editor confirming what they saw). */
  expectedRevision?: number;
  /** The articles, when the caller already holds them; otherwise read from the store by id. */
  articles?: Article[];
}

/** The frozen digest, its render, and what was left out of the email and why. */
export interface FrozenDigest {
  digest: Digest;
  rendered: RenderedIssue;
  omitted: OmittedArticle[];
}

/** Rounds of dropping articles that another issue claimed while this one rendered; more means something is wrong. */
const CONFLICT_ROUNDS = 3;

/**
 * Freezes a draft (see the module comment). Throws `digest_state` when it is not a draft, or changed since
 * `expectedRevision` (by default the revision read here, so an edit made while it renders is never lost), and
 * `digest_empty` when a digest (not a letter) has no article left.
 */
export async function freezeDigest(deps: FreezeDigestDeps, input: FreezeDigestInput): Promise<FrozenDigest> {
  const digest = await deps.digests.get(input.digestId);
  if (!digest) throw new AppError('digest_not_found', `no digest "${input.digestId}"`);
  if (digest.status !== 'draft') {
    throw new AppError('digest_state', `digest "${digest.id}" is ${digest.status}: only a draft can be frozen`);
  }
  if (input.target === 'scheduled' && !input.scheduledFor) {
    throw new AppError('input_invalid', 'a scheduled digest needs the time it goes out');
  }
  const composition = await deps.digests.getComposition(digest.id);
  const found = input.articles ?? (await deps.articles.getMany(digest.articleIds));
  const byId = new Map(found.map((article) => [article.id, article]));
  let articles = digest.articleIds.flatMap((id) => byId.get(id) ?? []);
  const omitted: OmittedArticle[] = digest.articleIds
    .filter((id) => !byId.has(id))
    .map((id) => ({ articleId: id, title: id, reason: 'no longer published (removed from the article store)' }));
  const pinned = new Set(composition.pinnedArticleIds);
  const issueDate = input.scheduledFor ?? deps.clock();
  // Images are fetched (embedded) or dropped (none) once; rounds that drop articles keep the rest's images.
  const freezeImages = deps.freezeImages ?? ((frozen) => freezeDigestImages(undefined, frozen));
  const imaged = await freezeImages({ newsletter: input.newsletter, site: input.site, articles });
  const imagedById = new Map(imaged.articles.map((article) => [article.id, article]));

  for (let round = 0; round < CONFLICT_ROUNDS; round += 1) {
    assertHasContent(digest, articles, composition);
    const rendered = await renderIssue({
      digest,
      composition,
      articles: articles.map((article) => imagedById.get(article.id) ?? article),
      images: imaged.images,
      newsletter: input.newsletter,
      site: input.site,
      issueDate,
    });
    const outcome = await deps.digests.freeze(
      digest,
      {
        body: rendered.body,
        web: { ...rendered.web, omitted: [...omitted, ...rendered.web.omitted] },
        status: input.target,
        subject: rendered.body.subject,
        articleIds: rendered.emailArticleIds,
        pinnedArticleIds: articles.filter((article) => pinned.has(article.id)).map((article) => article.id),
        scheduledFor: input.scheduledFor?.toISOString(),
        htmlBytes: rendered.htmlBytes,
        frozenAt: deps.clock().toISOString(),
        updatedBy: input.by,
      },
      input.expectedRevision ?? digest.revision ?? 0,
    );
    if (outcome.kind === 'frozen') {
      const frozen = await deps.digests.get(digest.id);
      if (!frozen) throw new AppError('digest_not_found', `digest "${digest.id}" vanished while it was frozen`);
      return { digest: frozen, rendered, omitted: [...omitted, ...rendered.omitted] };
    }
    const repeated = new Set(outcome.articleIds);
    for (const article of articles.filter((candidate) => repeated.has(candidate.id))) {
      omitted.push({
        articleId: article.id,
        title: article.title,
        reason: 'another issue of this newsletter carries it',
      });
    }
    articles = articles.filter((article) => !repeated.has(article.id));
  }
  throw new AppError('digest_state', `digest "${digest.id}" could not be frozen: its articles kept being taken`);
}

function assertHasContent(digest: Digest, articles: Article[], composition: DigestComposition): void {
  if (articles.length === 0 && !composition.letter) {
    throw new AppError(
      'digest_empty',
      `digest "${digest.id}" has no article left to send (each is in another issue or unpublished)`,
    );
  }
}
