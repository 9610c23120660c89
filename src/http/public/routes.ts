/**
 * The reader's routes: the sign-up form, the personal links in emails (confirm, one-click unsubscribe, undo), the
 * preferences page, the privacy page and frozen images. Public, cookie-free, script-free; every page is a template
 * escaped by the engine.
 */
import type { App } from '../../app.js';
import type { HttpApp } from '../http-env.js';
import { registerFrozenImageRoute } from './frozen-images.js';
import { registerLinkRoutes } from './link-routes.js';
import { registerPreferencesRoutes } from './preferences-routes.js';
import { registerPrivacyPage } from './privacy-page.js';
import { readerDepsFromApp } from './reader-deps.js';
import { registerSubscribeRoutes } from './subscribe-routes.js';

/** Registers the public routes. */
export function registerPublicRoutes(http: HttpApp, app: App): void {
  registerPrivacyPage(http, app);
  registerFrozenImageRoute(http, app);
  const deps = readerDepsFromApp(app);
  registerSubscribeRoutes(http, app, deps);
  registerLinkRoutes(http, app, deps);
  registerPreferencesRoutes(http, app, deps);
}
