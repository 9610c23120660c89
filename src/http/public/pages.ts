/**
 * The public pages readers see: plain HTML from the templates in `../views/public`, inline styles only, no script,
 * no remote font or image, no cookie.
 */
import type { Site } from '../../config.js';
import { renderPage } from '../views/render-page.js';

/** The page behind the footer link: one button that posts the one-click unsubscribe (a GET never unsubscribes, so link scanners cannot). */
export function renderUnsubscribeConfirmPage(site: Pick<Site, 'name'>, actionPath: string): string {
  return renderPage('public/unsubscribe-confirm', { title: 'Unsubscribe', siteName: site.name }, { actionPath });
}

/** A short page with a heading and one paragraph. */
export function renderNoticePage(site: Pick<Site, 'name'>, title: string, message: string): string {
  return renderPage('public/notice', { title, siteName: site.name }, { message });
}

/** One newsletter on the preferences page: its name and the one-click unsubscribe path for this reader. */
export interface PreferenceRow {
  name: string;
  description?: string;
  unsubscribePath: string;
}

/** The preferences page: the newsletters this reader receives, each with its own leave button. */
export function renderPreferencesPage(site: Pick<Site, 'name'>, rows: PreferenceRow[]): string {
  return renderPage('public/preferences', { title: 'Your newsletters', siteName: site.name }, { rows });
}
