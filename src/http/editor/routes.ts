/**
 * The editor's pages under `/editor`: behind `EDITOR_TOKENS` (HTTP Basic in a browser; 404 when none is configured),
 * every change checked for our own `Origin`, no session, no cookie. Pages work without JavaScript; a sending
 * digest's progress refreshes itself with a few lines of script carrying the page's nonce (and a meta refresh
 * without script). Reading routes are here; the forms' actions are in `actions.ts`.
 */
import { randomBytes } from 'node:crypto';
import { bodyLimit } from 'hono/body-limit';
import type { App } from '../../app.js';
import { findNewsletter, newsletterTimeZone } from '../../config.js';
import { describeProgress } from '../../delivery/describe-progress.js';
import { loadIssue } from '../../digests/load-issue.js';
import { subjectFor } from '../../digests/build-digest-view.js';
import { AppError } from '../../errors.js';
import { renderPreview } from '../../mail/compose-message.js';
import { auditIssue } from '../../privacy/audit-digest.js';
import type { AuditResult } from '../../privacy/finding.js';
import { describeDigest } from '../../newsroom/describe-digest.js';
import { describeNewsletter } from '../../newsroom/describe-newsletter.js';
import { checkOrigin } from '../access/require-token.js';
import type { HttpApp } from '../http-env.js';
import { cspWithScriptNonce } from '../security-headers.js';
import { registerEditorActions } from './actions.js';
import { withoutRemoteImages } from './preview-frame.js';
import { digestAndNewsletter, editorFailure, editorGuard, frameOf } from './editor-kit.js';
import {
  progressLabels,
  renderConfirmSendPage,
  renderDigestPage,
  renderNewsletterPage,
  renderOverviewPage,
  renderPreviewPage,
} from './pages.js';

/** Largest form body an editor may post (a long letter fits many times over). */
export const EDITOR_FORM_MAX_BYTES = 512 * 1024;

/** What a finished action says on the page it returns to (`?done=<code>`). */
export const DONE_NOTICES: Record<string, string> = {
  created: 'Draft created from the new articles. Shape it, preview it, then send or schedule it.',
  saved: 'Draft saved.',
  test: 'Test queued: it arrives in a minute or so, its subject marked [Test].',
  sent: 'Sending started.',
  scheduled: 'Scheduled.',
  unscheduled: 'Unscheduled: it is a draft again.',
  paused: 'Paused: no new message goes out until it is resumed.',
  resumed: 'Resumed.',
  cancelled: 'Cancelled: nobody else receives it.',
};

/** Registers the editor's guard, pages and actions. */
export function registerEditorRoutes(http: HttpApp, app: App): void {
  const guard = editorGuard(app, { allowBasic: true });
  const sameOrigin = checkOrigin(() => [new URL(app.config.site.baseUrl).origin]);
  const limit = bodyLimit({
    maxSize: EDITOR_FORM_MAX_BYTES,
    onError: (c) => c.text(`The form is larger than ${EDITOR_FORM_MAX_BYTES / 1024} KB.`, 413),
  });
  http.use('/editor', guard, sameOrigin);
  http.use('/editor/*', guard, sameOrigin, limit);
  const site = app.config.site;

  http.get('/editor', async (c) => {
    const overviews = await Promise.all(
      app.config.newsletters.map((newsletter) => describeNewsletter(app, { newsletter, site })),
    );
    return c.html(renderOverviewPage(frameOf(app, c), overviews, DONE_NOTICES[c.req.query('done') ?? '']));
  });

  http.get('/editor/newsletters/:id', async (c) => {
    try {
      const newsletter = findNewsletter(app.config, c.req.param('id'));
      const overview = await describeNewsletter(app, { newsletter, site });
      return c.html(renderNewsletterPage(frameOf(app, c), overview, DONE_NOTICES[c.req.query('done') ?? '']));
    } catch (error) {
      return editorFailure(app, c, error);
    }
  });

  http.get('/editor/digests/:id', async (c) => {
    try {
      const { newsletter } = await digestAndNewsletter(app, c.req.param('id'));
      const detail = await describeDigest(app, { digestId: c.req.param('id'), newsletter, site });
      if (!detail) throw new AppError('digest_not_found', `no digest "${c.req.param('id')}"`);
      const nonce = randomBytes(16).toString('base64url');
      c.header('Content-Security-Policy', cspWithScriptNonce(nonce));
      const page = renderDigestPage(frameOf(app, c), detail, {
        newsletter,
        timeZone: newsletterTimeZone(newsletter, site),
        composedSubject: subjectFor(newsletter, detail.articles, { letterTitle: detail.composition.letter?.title }),
        notice: DONE_NOTICES[c.req.query('done') ?? ''],
        nonce,
      });
      return c.html(page);
    } catch (error) {
      return editorFailure(app, c, error);
    }
  });

  http.get('/editor/digests/:id/progress', async (c) => {
    const digest = await app.digests.get(c.req.param('id'));
    if (!digest) return c.json({ error: { code: 'digest_not_found', message: 'no such digest' } }, 404);
    const progress = describeProgress(digest, app.clock());
    return c.json({ ...progress, ...progressLabels(progress) });
  });

  http.get('/editor/digests/:id/preview', async (c) => {
    try {
      const { newsletter } = await digestAndNewsletter(app, c.req.param('id'));
      const issue = await loadIssue(app, { digestId: c.req.param('id'), newsletter, site });
      const text = renderPreview({ ...issue, newsletter, site, secret: app.config.secret }, 'text');
      // The same audit that stands before the send, on what the editor sees now (nothing is stored).
      const audit = await auditIssue(app, { digest: issue.digest, body: issue.body });
      c.header(
        'Content-Security-Policy',
        cspWithScriptNonce(randomBytes(16).toString('base64url'), { frameSrc: "'self'" }),
      );
      return c.html(
        renderPreviewPage(frameOf(app, c), issue, { newsletter, text, auditFindings: auditFindingsOf(audit) }),
      );
    } catch (error) {
      return editorFailure(app, c, error, `/editor/digests/${c.req.param('id')}`);
    }
  });

  // The email itself, for the preview's sandboxed frames: its inline styles, no script, and nothing from another
  // origin (remote images are shown as placeholders).
  http.get('/editor/digests/:id/preview.html', async (c) => {
    try {
      const { newsletter } = await digestAndNewsletter(app, c.req.param('id'));
      const issue = await loadIssue(app, { digestId: c.req.param('id'), newsletter, site });
      c.header('Content-Security-Policy', PREVIEW_FRAME_CSP);
      const html = renderPreview({ ...issue, newsletter, site, secret: app.config.secret }, 'html');
      return c.html(withoutRemoteImages(html, new URL(c.req.url).origin));
    } catch (error) {
      return editorFailure(app, c, error);
    }
  });

  http.get('/editor/digests/:id/send', async (c) => {
    try {
      const { digest, newsletter } = await digestAndNewsletter(app, c.req.param('id'));
      const readers = await app.subscribers.countActive(newsletter.id);
      return c.html(
        renderConfirmSendPage(frameOf(app, c), {
          digestId: digest.id,
          subject: digest.subject,
          kind: digest.kind ?? 'digest',
          isDraft: digest.status === 'draft',
          revision: digest.revision ?? 0,
          readers,
          newsletter,
        }),
      );
    } catch (error) {
      return editorFailure(app, c, error);
    }
  });

  registerEditorActions(http, app);
}

/** The preview frame's policy: the email's own inline styles, images only from us, sandboxed, framed only by us. */
export const PREVIEW_FRAME_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'none'; frame-ancestors 'self'; base-uri 'none'; sandbox";

/** The audit's findings as the preview lists them: what blocks the send first, then what a policy or editor allowed. */
function auditFindingsOf(audit: AuditResult) {
  const severity = (allowedBy: string | undefined) =>
    allowedBy === 'policy' ? 'allowed by the image policy' : allowedBy === 'editor' ? 'allowed' : 'blocks sending';
  return [...audit.findings]
    .sort((a, b) => Number(a.allowedBy !== undefined) - Number(b.allowedBy !== undefined))
    .map((finding) => ({ severity: severity(finding.allowedBy), message: `${finding.kind}: ${finding.detail}` }));
}
