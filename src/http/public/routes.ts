/**
 * The reader's routes: the one-click unsubscribe every message links to (RFC 8058 POST from mailbox providers, and a
 * confirm page for people who click the footer link), the preferences page, the privacy page and frozen images.
 */
import type { App } from '../../app.js';
import { createSubscriberToken, verifySubscriberToken } from '../../subscribers/tokens.js';
import { unsubscribeByToken } from '../../subscribers/unsubscribe-by-token.js';
import type { HttpApp } from '../http-env.js';
import { registerFrozenImageRoute } from './frozen-images.js';
import { renderNoticePage, renderPreferencesPage, renderUnsubscribeConfirmPage } from './pages.js';
import { registerPrivacyPage } from './privacy-page.js';

/** Registers the public routes. */
export function registerPublicRoutes(http: HttpApp, app: App): void {
  registerPrivacyPage(http, app);
  registerFrozenImageRoute(http, app);
  const invalidLink = (what: string) =>
    renderNoticePage(
      app.config.site,
      'This link is not valid',
      `The ${what} link is damaged or was not issued by us. Use the link in the newsletter’s footer.`,
    );

  // The preferences page: which newsletters this reader receives, each with a leave button.
  http.get('/preferences/:token', async (c) => {
    const claim = verifySubscriberToken(app.config.secret, c.req.param('token'));
    const subscriber = claim ? await app.subscribers.get(claim.subscriberId) : undefined;
    if (!claim || !subscriber) return c.html(invalidLink('preferences'), 400);
    const taken = subscriber.status === 'active' ? subscriber.newsletters : [];
    const rows = app.config.newsletters
      .filter((newsletter) => taken.includes(newsletter.id))
      .map((newsletter) => ({
        name: newsletter.name,
        description: newsletter.description,
        unsubscribePath: `/unsubscribe/${createSubscriberToken(app.config.secret, { subscriberId: subscriber.id, newsletterId: newsletter.id })}`,
      }));
    return c.html(renderPreferencesPage(app.config.site, rows));
  });

  http.get('/unsubscribe/:token', (c) => c.html(renderUnsubscribeConfirmPage(app.config.site, c.req.path)));

  // RFC 8058: the provider POSTs `List-Unsubscribe=One-Click`; the confirm page's form posts the same field.
  http.post('/unsubscribe/:token', async (c) => {
    const outcome = await unsubscribeByToken(app, c.req.param('token'));
    if (outcome.kind === 'invalid') return c.html(invalidLink('unsubscribe'), 400);
    return c.html(
      renderNoticePage(
        app.config.site,
        'You are unsubscribed',
        `You will receive no more ${outcome.newsletterName} emails. Nothing else is kept about this visit.`,
      ),
    );
  });
}
