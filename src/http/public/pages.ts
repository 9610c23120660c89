/**
 * The public pages served this round: a confirm page for the footer's unsubscribe link and a notice page. Plain
 * HTML with inline styles only: no script, no remote font or image, no cookie.
 */
import type { Site } from '../../config.js';
import { escapeHtml } from '../../escape-html.js';

function layout(site: Pick<Site, 'name'>, title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · ${escapeHtml(site.name)}</title>
<style>body{font:17px/1.55 Georgia,serif;color:#1d1d1f;max-width:34rem;margin:3rem auto;padding:0 1.25rem}
h1{font-size:1.6rem}ul.plain{list-style:none;padding:0}ul.plain li{margin:0 0 1.25rem}form{margin:.5rem 0 0}button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:4px;background:#1d3557;color:#fff;cursor:pointer}
.site{font-variant:small-caps;letter-spacing:.05em;color:#555}</style></head>
<body><p class="site">${escapeHtml(site.name)}</p>${body}</body></html>
`;
}

/** The page behind the footer link: one button that posts the one-click unsubscribe (a GET never unsubscribes, so link scanners cannot). */
export function renderUnsubscribeConfirmPage(site: Pick<Site, 'name'>, actionPath: string): string {
  return layout(
    site,
    'Unsubscribe',
    `<h1>Unsubscribe</h1><p>Press the button to stop receiving this newsletter. It takes effect at once.</p>
<form method="post" action="${escapeHtml(actionPath)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
  );
}

/** A short page with a heading and one paragraph. */
export function renderNoticePage(site: Pick<Site, 'name'>, title: string, message: string): string {
  return layout(site, title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`);
}

/** One newsletter on the preferences page: its name and the one-click unsubscribe path for this reader. */
export interface PreferenceRow {
  name: string;
  description?: string;
  unsubscribePath: string;
}

/** The preferences page: the newsletters this reader receives, each with its own leave button. */
export function renderPreferencesPage(site: Pick<Site, 'name'>, rows: PreferenceRow[]): string {
  if (rows.length === 0) {
    return layout(
      site,
      'Your newsletters',
      '<h1>Your newsletters</h1><p>You receive none of our newsletters. Nothing more will be sent to you.</p>',
    );
  }
  const items = rows
    .map(
      (
        row,
      ) => `<li><strong>${escapeHtml(row.name)}</strong>${row.description ? `<br>${escapeHtml(row.description)}` : ''}
<form method="post" action="${escapeHtml(row.unsubscribePath)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Leave ${escapeHtml(row.name)}</button></form></li>`,
    )
    .join('\n');
  return layout(
    site,
    'Your newsletters',
    `<h1>Your newsletters</h1><p>You receive these newsletters. Leaving one takes effect at once.</p><ul class="plain">${items}</ul>`,
  );
}
