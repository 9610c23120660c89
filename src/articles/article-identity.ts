/** How an article is named and fingerprinted: stable ids across re-ingests, and a hash that tells an edit from a repeat. */
import { createHash } from 'node:crypto';
import type { Article } from './article.js';

/**
 * The stable article id: sha256, first 32 hex characters, of the feed's guid/id, else of the canonical (cleaned) URL.
 * A guid that is not itself a URI ("1234", "post-17") is only unique inside its site, so it is qualified with the
 * site's origin (`https://example.org` + guid); URI guids (`https://…`, `tag:…`, `urn:…`) are used as they are.
 */
export function articleIdFor(key: { guid?: string; url?: string; site?: string }): string | undefined {
  const guid = key.guid?.trim();
  let material: string | undefined;
  if (guid) material = /^[a-z][a-z0-9+.-]*:/i.test(guid) || !key.site ? guid : `${key.site}#${guid}`;
  else material = key.url;
  if (!material) return undefined;
  return createHash('sha256').update(material, 'utf8').digest('hex').slice(0, 32);
}

/** The fields that make up an article's content; the id, the source and the version time (derived) are not part of it. */
export type HashedFields = Omit<Article, 'id' | 'contentHash' | 'source' | 'versionAt'>;

/**
 * Hash of the normalised content. `publishedAt` counts only when the source stated it: an undated item gets
 * "now" as its date, and that must not make every re-ingest look like an edit.
 */
export function hashArticleContent(fields: HashedFields, options: { isPublishedAtStated: boolean }): string {
  const canonical = {
    url: fields.url,
    title: fields.title,
    standfirst: fields.standfirst,
    authors: fields.authors,
    section: fields.section,
    categories: fields.categories,
    publishedAt: options.isPublishedAtStated ? fields.publishedAt : null,
    updatedAt: fields.updatedAt ?? null,
    image: fields.image ?? null,
    contentHtml: fields.contentHtml,
  };
  return createHash('sha256').update(JSON.stringify(canonical), 'utf8').digest('hex');
}
