/** Choosing a digest's articles: pure functions over plain data, no store, no clock. */
import type { Article } from '../articles/article.js';
import type { Newsletter } from '../config.js';

/** Articles of one section, in the order the digest shows them. */
export interface ArticleSection {
  /** The section's name as the first of its articles spells it. */
  name: string;
  articles: Article[];
}

/** Section names compare without regard to case or surrounding space ("news " is "News"). */
function sectionKey(name: string): string {
  return name.trim().toLowerCase();
}

/** Newest first; equal times fall back to the id so the order never depends on the input order. */
function byNewestFirst(a: Article, b: Article): number {
  const difference = Date.parse(b.publishedAt) - Date.parse(a.publishedAt);
  if (difference !== 0) return difference;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Groups articles by section, keeping the given order inside each section and ordering the sections by where each
 * first appears (so a newest-first list yields sections in order of their newest article).
 */
export function groupBySection(articles: readonly Article[]): ArticleSection[] {
  const sections = new Map<string, ArticleSection>();
  for (const article of articles) {
    const key = sectionKey(article.section);
    let section = sections.get(key);
    if (!section) {
      section = { name: article.section.trim() || 'News', articles: [] };
      sections.set(key, section);
    }
    section.articles.push(article);
  }
  return [...sections.values()];
}

/**
 * Picks a digest's articles: published strictly after `since` (all when undefined), only the newsletter's sections
 * (an empty list takes every section; names compare case-insensitively), newest first, at most `maxArticles`, then
 * grouped by section in order of each section's newest article. Duplicate ids count once.
 */
export function selectArticles(
  articles: readonly Article[],
  newsletter: Pick<Newsletter, 'sections' | 'maxArticles'>,
  since: Date | undefined,
): ArticleSection[] {
  const wanted = new Set(newsletter.sections.map(sectionKey));
  const sinceMs = since?.getTime();
  const seen = new Set<string>();
  const eligible = articles.filter((article) => {
    if (seen.has(article.id)) return false;
    seen.add(article.id);
    if (sinceMs !== undefined && !(Date.parse(article.publishedAt) > sinceMs)) return false;
    return wanted.size === 0 || wanted.has(sectionKey(article.section));
  });
  const newest = eligible.sort(byNewestFirst).slice(0, newsletter.maxArticles);
  return groupBySection(newest);
}

/**
 * Groups articles into sections without reordering them: each run of consecutive articles of one section is a
 * section. A list that `selectArticles` grouped comes back as those groups; an editor's own order is kept exactly
 * (a section they split in two shows twice).
 */
export function groupRunsBySection(articles: readonly Article[]): ArticleSection[] {
  const sections: ArticleSection[] = [];
  let current: { key: string; section: ArticleSection } | undefined;
  for (const article of articles) {
    const key = sectionKey(article.section);
    if (!current || current.key !== key) {
      current = { key, section: { name: article.section.trim() || 'News', articles: [] } };
      sections.push(current.section);
    }
    current.section.articles.push(article);
  }
  return sections;
}

/** The articles of grouped sections in reading order. */
export function flattenSections(sections: readonly ArticleSection[]): Article[] {
  return sections.flatMap((section) => section.articles);
}
