/** The Article: one normalised item from any source (RSS, Atom, JSON Feed, CMS webhook). */
import { z } from 'zod';

/** An image that illustrates an article. */
export const ArticleImageSchema = z.object({
  url: z.string().url(),
  alt: z.string().max(500).default(''),
  caption: z.string().max(1000).optional(),
});
export type ArticleImage = z.infer<typeof ArticleImageSchema>;

/** A normalised, sanitized article as stored. */
export const ArticleSchema = z.object({
  /** Stable id: a hash of the feed's guid/id, else of the canonical URL. */
  id: z.string().regex(/^[a-f0-9]{16,64}$/),
  /** Canonical link to the article, tracking parameters removed. */
  url: z.string().url(),
  title: z.string().min(1).max(500),
  /** Plain-text standfirst or summary (no markup). */
  standfirst: z.string().max(2000).default(''),
  authors: z.array(z.string().min(1).max(200)).max(20).default([]),
  /** Primary section (first category), used to group a digest. */
  section: z.string().max(100).default('News'),
  categories: z.array(z.string().max(100)).max(50).default([]),
  /** ISO 8601 publication time. */
  publishedAt: z.string().datetime({ offset: true }),
  updatedAt: z.string().datetime({ offset: true }).optional(),
  /**
   * When the source says this version was written: its updated time, else its stated publication time. Absent when
   * the source states no date, so no order between two versions can be known. An older version never replaces a
   * newer one.
   */
  versionAt: z.string().datetime({ offset: true }).optional(),
  image: ArticleImageSchema.optional(),
  /** Sanitized HTML body (allowlist; tracking removed). May be empty when the source gives only a summary. */
  contentHtml: z.string().default(''),
  /** Where it came from: the feed URL or path, or `webhook`. */
  source: z.string().max(2000),
  /** Hash of the normalised content, to tell an unchanged re-ingest from an update. */
  contentHash: z.string(),
});
export type Article = z.infer<typeof ArticleSchema>;
