/**
 * The public archive: `/archive/<newsletter>` (every issue that went out), `/archive/<newsletter>/<digest>` (its web
 * version, the same for everyone) and `/archive/<newsletter>/feed.xml` (Atom). No cookie, nothing loaded from another
 * origin (the strict policy of every public page), never a draft, a scheduled or a cancelled issue.
 */
import { generateAtomFeed } from 'feedsmith';
import type { App } from '../../app.js';
import { listArchive, readArchivedIssue } from '../../digests/read-archive.js';
import { archiveUrlFor } from '../../digests/render-issue.js';
import { siteDateFormats } from '../../digests/build-digest-view.js';
import type { HttpApp } from '../http-env.js';
import { renderPage } from '../views/render-page.js';
import { renderNoticePage } from './pages.js';

/** Issues on an archive index page. */
export const ARCHIVE_INDEX_LIMIT = 200;
/** Issues in the archive's feed. */
export const ARCHIVE_FEED_LIMIT = 30;

/** Registers the archive routes. */
export function registerArchiveRoutes(http: HttpApp, app: App): void {
  const site = app.config.site;
  const newsletterNamed = (id: string) => app.config.newsletters.find((newsletter) => newsletter.id === id);
  const notFound = () => renderNoticePage(site, 'Not found', 'There is no such issue in the archive.');
  const frame = (title: string) => ({ title, siteName: site.name, lang: site.locale });

  http.get('/archive/:newsletter/feed.xml', async (c) => {
    const newsletter = newsletterNamed(c.req.param('newsletter'));
    if (!newsletter) return c.html(notFound(), 404);
    const issues = await listArchive(app, newsletter.id, ARCHIVE_FEED_LIMIT);
    const home = `${site.baseUrl.replace(/\/+$/, '')}/archive/${newsletter.id}`;
    const xml = generateAtomFeed({
      id: home,
      title: { value: `${newsletter.name} · ${site.name}` },
      ...(newsletter.description ? { subtitle: { value: newsletter.description } } : {}),
      updated: new Date(issues[0]?.publishedAt ?? app.clock()),
      links: [
        { href: `${home}/feed.xml`, rel: 'self', type: 'application/atom+xml' },
        { href: home, rel: 'alternate', type: 'text/html' },
      ],
      entries: issues.map((issue) => {
        const url = archiveUrlFor(site, issue.digest);
        return {
          id: url,
          title: { value: issue.web.subject },
          updated: new Date(issue.digest.sentAt ?? issue.publishedAt),
          published: new Date(issue.publishedAt),
          links: [{ href: url, rel: 'alternate', type: 'text/html' }],
          summary: { value: issue.web.preheader },
        };
      }),
    });
    return c.body(xml, 200, { 'Content-Type': 'application/atom+xml; charset=utf-8' });
  });

  http.get('/archive/:newsletter', async (c) => {
    const newsletter = newsletterNamed(c.req.param('newsletter'));
    if (!newsletter) return c.html(notFound(), 404);
    const format = siteDateFormats(site).article;
    const issues = await listArchive(app, newsletter.id, ARCHIVE_INDEX_LIMIT);
    const page = renderPage('public/archive-index', frame(newsletter.name), {
      newsletterId: newsletter.id,
      newsletterName: newsletter.name,
      description: newsletter.description,
      issues: issues.map((issue) => ({
        id: issue.digest.id,
        subject: issue.web.subject,
        preheader: issue.web.preheader,
        publishedIso: issue.publishedAt,
        publishedLabel: format.format(new Date(issue.publishedAt)),
      })),
    });
    return c.html(page);
  });

  http.get('/archive/:newsletter/:digest', async (c) => {
    const newsletter = newsletterNamed(c.req.param('newsletter'));
    const issue = newsletter ? await readArchivedIssue(app, newsletter.id, c.req.param('digest')) : undefined;
    if (!newsletter || !issue) return c.html(notFound(), 404);
    const page = renderPage('public/archive-issue', frame(issue.web.subject), {
      ...issue.web,
      lang: issue.web.lang,
      newsletterId: newsletter.id,
    });
    return c.html(page);
  });
}
