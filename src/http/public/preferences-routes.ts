/**
 * `/preferences/<token>`: the page behind every message's preferences link. GET shows the newsletters with the
 * reader's choices and the address they apply to; POST saves the choices (`action=save`, `newsletters=...`) or
 * leaves everything (`action=leave-all`). Only our own pages may post here.
 */
import { z } from 'zod';
import type { App } from '../../app.js';
import { readPreferences, updatePreferences, type PreferencesView } from '../../subscribers/manage-preferences.js';
import type { LinkFailure } from '../../subscribers/confirm-subscription.js';
import type { HttpApp } from '../http-env.js';
import { fromOurPagesOnly, isPage, limitFormBody, listField, readForm } from './form-body.js';
import { linkFailurePage, noticePage, preferencesPage, sendPage, type Page } from './pages.js';
import type { ReaderDeps } from './reader-deps.js';

/** The preferences forms' fields. */
export const PreferencesFormSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('save'), newsletters: z.array(z.string().max(40)).max(100) }),
  z.object({ action: z.literal('leave-all') }),
]);

/** Registers the preferences routes. */
export function registerPreferencesRoutes(http: HttpApp, app: App, deps: ReaderDeps): void {
  const { site } = app.config;
  const pageFor = (view: LinkFailure | PreferencesView, path: string): Page =>
    view.kind === 'preferences' ? preferencesPage(site, view, path) : linkFailurePage(site, view.kind, 'preferences');
  const ownOrigin = fromOurPagesOnly(site);

  http.get('/preferences/:token', async (c) =>
    sendPage(c, pageFor(await readPreferences(deps, c.req.param('token')), c.req.path)),
  );

  http.post('/preferences/:token', ownOrigin, limitFormBody(site), async (c) => {
    const form = await readForm(c, site);
    if (isPage(form)) return sendPage(c, form);
    const parsed = PreferencesFormSchema.safeParse({ ...form, newsletters: listField(form.newsletters) });
    if (!parsed.success) {
      return sendPage(
        c,
        noticePage(
          site,
          {
            title: 'Nothing was changed',
            message: 'The form did not say what to change. Please use the buttons on the page.',
            link: { href: c.req.path, label: 'Back to your newsletters' },
          },
          400,
        ),
      );
    }
    const change =
      parsed.data.action === 'leave-all'
        ? { kind: 'leave-all' as const }
        : { kind: 'choose' as const, newsletterIds: parsed.data.newsletters };
    return sendPage(c, pageFor(await updatePreferences(deps, c.req.param('token'), change), c.req.path));
  });
}
