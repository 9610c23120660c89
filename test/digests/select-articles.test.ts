import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Article } from '../../src/articles/article.js';
import { flattenSections, groupBySection, selectArticles } from '../../src/digests/select-articles.js';
import { makeArticle, sampleArticles, sampleNewsletter } from './sample-articles.js';

const titles = (articles: Article[]) => articles.map((a) => a.title);

describe('choosing a digest’s articles', () => {
  it('sections appear in order of their newest article, each listing its articles newest first', () => {
    const shuffled = [...sampleArticles()].reverse();
    const sections = selectArticles(shuffled, sampleNewsletter(), undefined);
    expect(sections.map((s) => s.name)).toEqual(['News', 'Business', 'Culture', 'Opinion']);
    expect(titles(sections[0]!.articles)).toEqual([
      'Harbour wall to be rebuilt after winter storms',
      'Ferry timetable changes: what you need to know',
      'Is the lifeboat station ready for winter?',
    ]);
  });

  it('only articles published after the last send are included', () => {
    const since = new Date('2025-11-26T12:00:00Z');
    const picked = flattenSections(selectArticles(sampleArticles(), sampleNewsletter(), since));
    expect(picked.every((a) => Date.parse(a.publishedAt) > since.getTime())).toBe(true);
    expect(titles(picked)).not.toContain('Is the lifeboat station ready for winter?');
    expect(picked).toHaveLength(3);
  });

  it('a newsletter with sections takes only those, whatever their capitalisation', () => {
    const sections = selectArticles(sampleArticles(), sampleNewsletter({ sections: ['NEWS', 'culture'] }), undefined);
    expect(sections.map((s) => s.name)).toEqual(['News', 'Culture']);
    expect(flattenSections(sections)).toHaveLength(5);
  });

  it('the newest articles win when there are more than the newsletter takes', () => {
    const picked = flattenSections(selectArticles(sampleArticles(), sampleNewsletter({ maxArticles: 3 }), undefined));
    expect(titles(picked).sort()).toEqual(
      [
        'Harbour wall to be rebuilt after winter storms',
        'Café owners & bakers say "no" to late licences',
        'Ferry timetable changes: what you need to know',
      ].sort(),
    );
  });

  it('the same article listed twice appears once', () => {
    const [first] = sampleArticles();
    expect(flattenSections(selectArticles([first!, first!], sampleNewsletter(), undefined))).toHaveLength(1);
  });

  it('for any input: within the cap, within the window, grouped, and the same whatever the input order', () => {
    const sectionNames = ['News', 'Sport', 'Culture', 'news'];
    const articleArbitrary = fc
      .record({
        n: fc.integer({ min: 0, max: 1_000_000 }),
        section: fc.constantFrom(...sectionNames),
        minutes: fc.integer({ min: 0, max: 10_000 }),
      })
      .map(({ n, section, minutes }) =>
        makeArticle({
          title: `Story ${n}`,
          section,
          publishedAt: new Date(Date.UTC(2025, 0, 1) + minutes * 60_000).toISOString(),
        }),
      );
    fc.assert(
      fc.property(
        fc.uniqueArray(articleArbitrary, { maxLength: 40, selector: (a) => a.id }),
        fc.integer({ min: 1, max: 15 }),
        fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: undefined }),
        (articles, maxArticles, sinceMinutes) => {
          const since = sinceMinutes === undefined ? undefined : new Date(Date.UTC(2025, 0, 1) + sinceMinutes * 60_000);
          const newsletter = sampleNewsletter({ maxArticles });
          const sections = selectArticles(articles, newsletter, since);
          const picked = flattenSections(sections);
          const eligible = articles.filter((a) => !since || Date.parse(a.publishedAt) > since.getTime());
          expect(picked).toHaveLength(Math.min(maxArticles, eligible.length));
          // nothing left out is newer than something taken
          const oldestTaken = Math.min(...picked.map((a) => Date.parse(a.publishedAt)));
          const pickedIds = new Set(picked.map((a) => a.id));
          for (const a of eligible) {
            if (!pickedIds.has(a.id)) expect(Date.parse(a.publishedAt)).toBeLessThanOrEqual(oldestTaken);
          }
          // sections are distinct (case-insensitively) and each is newest first
          expect(new Set(sections.map((s) => s.name.toLowerCase())).size).toBe(sections.length);
          for (const section of sections) {
            const times = section.articles.map((a) => Date.parse(a.publishedAt));
            expect([...times].sort((x, y) => y - x)).toEqual(times);
          }
          // sections ordered by their newest article
          const heads = sections.map((s) => Date.parse(s.articles[0]!.publishedAt));
          expect([...heads].sort((x, y) => y - x)).toEqual(heads);
          // input order does not matter
          expect(flattenSections(selectArticles([...articles].reverse(), newsletter, since)).map((a) => a.id)).toEqual(
            picked.map((a) => a.id),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('grouping keeps the given order and never reorders within a section', () => {
    const articles = sampleArticles();
    const grouped = groupBySection(articles);
    expect(flattenSections(grouped)).toHaveLength(articles.length);
    expect(grouped.map((s) => s.name)).toEqual(['News', 'Business', 'Culture', 'Opinion']);
  });
});
