/** What the editor's routes share: the token guard, the page frame, failures as pages, a digest with its newsletter. */
import type { Context } from 'hono';
import type { App } from '../../app.js';
import { findNewsletter } from '../../config.js';
import { AppError, httpStatusFor, isAppError } from '../../errors.js';
import { requireToken } from '../access/require-token.js';
import { clientAddress } from '../client-address.js';
import type { HttpEnv } from '../http-env.js';
import { createRateLimiter } from '../rate-limit.js';
import { renderEditorNotice, type EditorFrame } from './pages.js';

/** The editors' token guard, shared by the pages and the API (one count of failed attempts per client). */
export function editorGuard(app: App, options: { allowBasic: boolean }) {
  return requireToken({
    tokens: app.config.http.editorTokens,
    realm: 'Letterpress newsroom',
    allowBasic: options.allowBasic,
    failures: createRateLimiter(app.redis, app.keys, {
      name: 'editor-auth',
      points: 10,
      durationSeconds: 900,
      blockSeconds: 900,
    }),
    clientAddress: (c) => clientAddress(c, app.config.http.trustedProxies),
  });
}

/** The frame of every editor page: who is signed in, and the site. */
export function frameOf(app: App, c: Context<HttpEnv>): EditorFrame {
  return { principal: c.get('principal'), site: app.config.site };
}

/** Renders an expected failure as a page with its status; anything else propagates (a 500). */
export function editorFailure(app: App, c: Context<HttpEnv>, error: unknown, back?: string) {
  if (!isAppError(error)) throw error;
  const status = httpStatusFor(error.code) as 400 | 404;
  const page = renderEditorNotice(frameOf(app, c), {
    title: status === 404 ? 'Not found' : 'That did not work',
    message: error.message,
    isError: true,
    ...(back ? { backHref: back, backLabel: 'Back' } : {}),
  });
  return c.html(page, status);
}

/** The digest a route names, with its newsletter; `digest_not_found` otherwise. */
export async function digestAndNewsletter(app: App, digestId: string) {
  const digest = await app.digests.get(digestId);
  if (!digest) throw new AppError('digest_not_found', `no digest "${digestId}"`);
  return { digest, newsletter: findNewsletter(app.config, digest.newsletterId) };
}
