/**
 * Editing a draft: its articles (chosen, removed, reordered), the editor's note, the subject and preheader overrides,
 * and a letter's title, body and signature. Two editors see the same draft; an edit made on an older revision is
 * refused rather than silently overwriting the other's work. A frozen digest is never changed.
 */
import { z } from 'zod';
import type { Article } from '../articles/article.js';
import type { Newsletter } from '../config.js';
import { AppError } from '../errors.js';
import { subjectFor } from './build-digest-view.js';
import { DigestCompositionSchema, type Digest, type DigestComposition } from './digest.js';
import type { DraftChange } from './digest-store.js';

/** An article id as stored. */
export const ArticleIdSchema = z.string().regex(/^[a-f0-9]{16,64}$/, 'must be an article id (16-64 hex characters)');

/** An optional override: text replaces the composed line, an empty string or null goes back to it. */
const OverrideSchema = z
  .string()
  .max(200)
  .nullable()
  .transform((value) => (value === null ? '' : value.replace(/\s+/g, ' ').trim()));

/** One edit of a draft; every field is optional and only what is given changes. */
export const DraftEditSchema = z.object({
  /** The revision the edit was made on; a draft changed since refuses it. Absent: last write wins. */
  revision: z.number().int().min(0).optional(),
  /** The complete new list of articles, in order (at most 100). Articles not in the draft before are pinned. */
  articleIds: z.array(ArticleIdSchema).max(100).optional(),
  /** The editor's note in Markdown. */
  note: z.string().max(20_000).optional(),
  /** Subject override ('' or null: the composed subject). */
  subject: OverrideSchema.optional(),
  /** Preheader override ('' or null: the composed preheader). */
  preheader: OverrideSchema.optional(),
  /** A letter's parts (only for a letter). */
  letter: z
    .object({
      title: z.string().trim().min(1, 'a letter needs a title').max(200).optional(),
      body: z.string().max(100_000).optional(),
      author: z.string().trim().min(1).max(120).optional(),
    })
    .optional(),
});
export type DraftEdit = z.infer<typeof DraftEditSchema>;

/** What editing needs from the world. */
export interface UpdateDraftDeps {
  digests: {
    get(id: string): Promise<Digest | undefined>;
    getComposition(id: string): Promise<DigestComposition>;
    updateDraft(id: string, change: DraftChange, expectedRevision?: number): Promise<number>;
  };
  articles: { getMany(ids: string[]): Promise<Article[]> };
}

/** A move of one article in a draft's list, as the compose page's buttons ask for it. */
export type ArticleMove = { kind: 'up' | 'down' | 'remove' | 'add'; articleId: string };

/** The list after one move: up or down swaps with the neighbour, remove drops, add appends (once). */
export function moveArticle(articleIds: readonly string[], move: ArticleMove): string[] {
  const list = [...articleIds];
  const index = list.indexOf(move.articleId);
  if (move.kind === 'add') return index >= 0 ? list : [...list, move.articleId];
  if (index < 0) return list;
  if (move.kind === 'remove') return list.filter((id) => id !== move.articleId);
  const target = move.kind === 'up' ? index - 1 : index + 1;
  if (target < 0 || target >= list.length) return list;
  [list[index], list[target]] = [list[target] as string, list[index] as string];
  return list;
}

/** Reads the articles in the order given; throws `input_invalid` naming any id that is not stored. */
export async function loadArticlesInOrder(deps: Pick<UpdateDraftDeps, 'articles'>, ids: string[]): Promise<Article[]> {
  const found = new Map((await deps.articles.getMany(ids)).map((article) => [article.id, article]));
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length > 0) {
    throw new AppError('input_invalid', `articleIds: no article ${missing.join(', ')} (unpublished or never stored)`);
  }
  return ids.map((id) => found.get(id) as Article);
}

/**
 * Applies an edit to a draft (see `DraftEditSchema`) on behalf of `by`; returns the digest as it now is. Throws
 * `digest_state` when it is no longer a draft or changed since `edit.revision`, `input_invalid` for an unknown
 * article or a letter's parts on a digest.
 */
export async function updateDraft(
  deps: UpdateDraftDeps,
  input: { digestId: string; newsletter: Newsletter; edit: DraftEdit; by: string },
): Promise<Digest> {
  const { edit } = input;
  const digest = await deps.digests.get(input.digestId);
  if (!digest) throw new AppError('digest_not_found', `no digest "${input.digestId}"`);
  if (digest.status !== 'draft') {
    throw new AppError('digest_state', `digest "${digest.id}" is ${digest.status}: only a draft can be changed`);
  }
  const current = await deps.digests.getComposition(digest.id);
  if (edit.letter && !current.letter)
    throw new AppError('input_invalid', 'letter: this draft is a digest, not a letter');
  const articleIds = edit.articleIds ? [...new Set(edit.articleIds)] : digest.articleIds;
  const articles = await loadArticlesInOrder(deps, articleIds);
  const before = new Set(digest.articleIds);
  const stillPinned = current.pinnedArticleIds.filter((id) => articleIds.includes(id));
  const newlyAdded = articleIds.filter((id) => !before.has(id));
  const composition = DigestCompositionSchema.parse({
    ...current,
    ...(edit.note !== undefined ? { note: edit.note } : {}),
    subject: edit.subject === undefined ? current.subject : edit.subject || undefined,
    preheader: edit.preheader === undefined ? current.preheader : edit.preheader || undefined,
    letter: current.letter && edit.letter ? { ...current.letter, ...edit.letter } : current.letter,
    pinnedArticleIds: [...new Set([...stillPinned, ...newlyAdded])],
  });
  await deps.digests.updateDraft(
    digest.id,
    {
      articleIds,
      subject: subjectFor(input.newsletter, articles, {
        subject: composition.subject,
        letterTitle: composition.letter?.title,
      }),
      composition,
      updatedBy: input.by,
    },
    edit.revision,
  );
  const updated = await deps.digests.get(digest.id);
  if (!updated) throw new AppError('digest_not_found', `digest "${digest.id}" vanished while it was edited`);
  return updated;
}
