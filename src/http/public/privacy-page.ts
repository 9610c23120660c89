/** The public privacy page: what is kept about a reader, for how long, and what is never collected. */
import type { App } from '../../app.js';
import type { Newsletter, Site } from '../../config.js';
import {
  IMAGE_POLICY_FACTS,
  NEVER_COLLECTED_FACTS,
  PRIVACY_PLEDGE,
  STORED_FACTS,
} from '../../privacy/privacy-facts.js';
import type { HttpApp } from '../http-env.js';
import { renderPage } from '../views/render-page.js';

/** A fact as a sentence of its own: capital first letter, full stop. */
function sentence(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

/** The privacy page of this installation, from the shared facts and the configured newsletters' image policies. */
export function renderPrivacyPage(site: Pick<Site, 'name'>, newsletters: readonly Newsletter[]): string {
  return renderPage(
    'public/privacy',
    { title: 'Privacy', siteName: site.name },
    {
      pledge: PRIVACY_PLEDGE,
      stored: STORED_FACTS.map((fact) => ({ ...fact, why: sentence(fact.why), kept: sentence(`kept ${fact.kept}`) })),
      neverCollected: NEVER_COLLECTED_FACTS.map((fact) => ({
        what: fact.what,
        how: sentence(fact.how),
        checks: fact.checkedBy,
      })),
      newsletters: newsletters.map((newsletter) => ({
        name: newsletter.name,
        imagesFact: IMAGE_POLICY_FACTS[newsletter.images],
      })),
    },
  );
}

/** Registers `GET /privacy`. The page is the same for everyone, so it is rendered once. */
export function registerPrivacyPage(http: HttpApp, app: App): void {
  const page = renderPrivacyPage(app.config.site, app.config.newsletters);
  http.get('/privacy', (c) => c.html(page));
}
