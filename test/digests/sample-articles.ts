/** Articles, a newsletter and a site for digest and message tests: plain data, written for these tests. */
import { createHash } from 'node:crypto';
import { ArticleSchema, type Article } from '../../src/articles/article.js';
import { NewsletterSchema, SiteSchema, type Config, type Newsletter } from '../../src/config.js';

/** Fields a test cares about; the rest are filled in. */
export interface ArticleSeed {
  title: string;
  section?: string;
  publishedAt: string;
  authors?: string[];
  standfirst?: string;
  image?: { url: string; alt?: string; caption?: string };
  url?: string;
}

/** Builds one valid Article with a stable id derived from its title. */
export function makeArticle(seed: ArticleSeed): Article {
  const id = createHash('sha256').update(seed.title).digest('hex').slice(0, 24);
  return ArticleSchema.parse({
    id,
    url: seed.url ?? `https://news.harbourgazette.example/articles/${id}`,
    title: seed.title,
    standfirst: seed.standfirst ?? '',
    authors: seed.authors ?? [],
    section: seed.section ?? 'News',
    categories: [],
    publishedAt: seed.publishedAt,
    image: seed.image,
    contentHtml: '',
    source: 'test',
    contentHash: id,
  });
}

/** Eight articles over three sections, newest first, with the characters that break naive templates. */
export function sampleArticles(): Article[] {
  return [
    makeArticle({
      title: 'Harbour wall to be rebuilt after winter storms',
      section: 'News',
      publishedAt: '2025-11-27T08:30:00Z',
      authors: ['Mara Quill'],
      standfirst:
        'The council voted on Tuesday to rebuild the eastern harbour wall before next winter, after two storms in ' +
        'January left a breach that fishermen say has made the inner harbour unusable at high tide.',
      image: {
        url: 'https://news.harbourgazette.example/images/harbour-wall.jpg',
        alt: 'A breached stone harbour wall at low tide',
        caption: 'The eastern wall after the January storms. Photo: Tom Reyes',
      },
    }),
    makeArticle({
      title: 'Café owners & bakers say "no" to late licences',
      section: 'Business',
      publishedAt: '2025-11-27T07:10:00Z',
      authors: ['Zoë Ångström', 'Ben Okafor'],
      standfirst: 'Traders on Quay Street <b>fear</b> noise complaints; the consultation closes on 5 December.',
    }),
    makeArticle({
      title: 'Ferry timetable changes: what you need to know',
      section: 'News',
      publishedAt: '2025-11-26T18:00:00Z',
      authors: ['Mara Quill', 'Ivo Stein', 'Lena Park'],
      standfirst: 'From 1 December the 07:15 sailing moves to 07:40. Season tickets stay valid.',
      url: 'https://news.harbourgazette.example/ferry?from=port&to=isle',
    }),
    makeArticle({
      title: 'Is the lifeboat station ready for winter?',
      section: 'news',
      publishedAt: '2025-11-26T12:00:00Z',
      standfirst: '',
    }),
    makeArticle({
      title: 'Review: a quiet, luminous "Tempest" at the Assembly Rooms',
      section: 'Culture',
      publishedAt: '2025-11-26T09:00:00Z',
      authors: ['Ruth Adeyemi'],
      standfirst: 'Prospero as a retired harbour master works better than it has any right to.',
      image: { url: 'https://news.harbourgazette.example/images/tempest.jpg', alt: '' },
    }),
    makeArticle({
      title: 'Fish market prices hold steady <script>alert(1)</script>',
      section: 'Business',
      publishedAt: '2025-11-25T16:45:00Z',
      authors: ['Ben Okafor'],
      standfirst: 'Cod up 3%, hake down 2% = a flat week overall.',
    }),
    makeArticle({
      title: 'Letters: the car park, again',
      section: 'Opinion',
      publishedAt: '2025-11-25T10:00:00Z',
      standfirst: 'Readers write in about the Harbour Road car park.',
    }),
    makeArticle({
      title: 'Choir celebrates 100 years with a free concert',
      section: 'Culture',
      publishedAt: '2025-11-24T19:30:00Z',
      authors: ['Ruth Adeyemi'],
      standfirst: 'The Port Ellery Singers perform on Saturday at 7pm in St Anne’s.',
    }),
  ];
}

/** A newsletter that takes every section. */
export function sampleNewsletter(overrides: Partial<Newsletter> = {}): Newsletter {
  return NewsletterSchema.parse({
    id: 'daily',
    name: 'The Daily Digest',
    description: 'The news from Port Ellery and the bay, every morning.',
    ...overrides,
  });
}

/** The site as `loadConfig` would give it. */
export function sampleSite(overrides: Partial<Config['site']> = {}): Config['site'] {
  const site = SiteSchema.parse({});
  return { ...site, mailDomain: new URL(site.baseUrl).hostname, ...overrides };
}

/** A test secret of the required length. */
export const TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/** Matches a link with this exact href and text, whatever other attributes (inlined styles) it has. */
export function anchor(href: string, text: string): RegExp {
  const quote = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`<a href="${quote(href)}"[^>]*>${quote(text)}</a>`);
}
