/**
 * The personal links in readers' emails: `/confirm/<token>` (double opt-in), `/unsubscribe/<token>` (RFC 8058
 * one-click, and the footer link) and `/resubscribe/<token>` (the undo button after leaving). A GET never changes
 * anything (mail scanners open links); it shows one button that posts. A forged or altered token gets 400, an
 * expired one 410, each with a calm page, on GET as on POST.
 */
import type { App } from '../../app.js';
import {
  confirmSubscription,
  readConfirmation,
  type ConfirmationView,
} from '../../subscribers/confirm-subscription.js';
import { resubscribeByToken } from '../../subscribers/resubscribe-by-token.js';
import { verifyToken } from '../../subscribers/tokens.js';
import { unsubscribeByToken } from '../../subscribers/unsubscribe-by-token.js';
import type { HttpApp } from '../http-env.js';
import { fromOurPagesOnly } from './form-body.js';
import { linkFailurePage, noticePage, sendPage, type Page } from './pages.js';
import type { ReaderDeps } from './reader-deps.js';

/** Registers the link routes. */
export function registerLinkRoutes(http: HttpApp, app: App, deps: ReaderDeps): void {
  const { site } = app.config;
  const ownOrigin = fromOurPagesOnly(site);

  http.get('/confirm/:token', async (c) =>
    sendPage(c, confirmationPage(site, await readConfirmation(deps, c.req.param('token')), c.req.path)),
  );
  http.post('/confirm/:token', ownOrigin, async (c) =>
    sendPage(c, confirmationPage(site, await confirmSubscription(deps, c.req.param('token')), c.req.path)),
  );

  http.get('/unsubscribe/:token', (c) => {
    const check = verifyToken(app.config, c.req.param('token'), 'unsubscribe', app.clock());
    if (check.status !== 'valid') return sendPage(c, linkFailurePage(site, check.status, 'unsubscribe'));
    const newsletter = app.config.newsletters.find((n) => n.id === check.claim.newsletterId);
    return sendPage(
      c,
      noticePage(site, {
        title: 'Unsubscribe',
        message: `Press the button to stop receiving ${newsletter?.name ?? 'this newsletter'}. It takes effect at once.`,
        action: { path: c.req.path, label: 'Unsubscribe', fields: [{ name: 'List-Unsubscribe', value: 'One-Click' }] },
      }),
    );
  });
  // RFC 8058: the mailbox provider POSTs `List-Unsubscribe=One-Click` from its own servers; the page's button posts the same.
  http.post('/unsubscribe/:token', async (c) => {
    const outcome = await unsubscribeByToken(deps, c.req.param('token'));
    if (outcome.kind === 'invalid') return sendPage(c, linkFailurePage(site, 'invalid', 'unsubscribe'));
    return sendPage(
      c,
      noticePage(site, {
        title: 'You are unsubscribed',
        message: `You will receive no more ${outcome.newsletterName} emails. It took effect at once, also for an issue being sent right now.`,
        more: ['Pressed by mistake? Undo it below; the button works for seven days.'],
        action: {
          path: `/resubscribe/${outcome.resubscribeToken}`,
          label: `Undo: keep receiving ${outcome.newsletterName}`,
          isSecondary: true,
        },
        link: { href: `/preferences/${outcome.preferencesToken}`, label: 'See all your newsletters' },
      }),
    );
  });

  http.get('/resubscribe/:token', (c) => {
    const check = verifyToken(app.config, c.req.param('token'), 'resubscribe', app.clock());
    if (check.status !== 'valid') return sendPage(c, linkFailurePage(site, check.status, 'resubscribe'));
    return sendPage(
      c,
      noticePage(site, {
        title: 'Undo your unsubscribe',
        message: 'Press the button to receive this newsletter again.',
        action: { path: c.req.path, label: 'Receive it again' },
      }),
    );
  });
  http.post('/resubscribe/:token', ownOrigin, async (c) => {
    const outcome = await resubscribeByToken(deps, c.req.param('token'));
    if (outcome.kind === 'invalid' || outcome.kind === 'expired')
      return sendPage(c, linkFailurePage(site, outcome.kind, 'resubscribe'));
    if (outcome.kind === 'suppressed') return sendPage(c, suppressedPage(site));
    return sendPage(
      c,
      noticePage(site, {
        title: 'Welcome back',
        message: `You will receive ${outcome.newsletterName} again, starting with the next issue.`,
        link: { href: `/preferences/${outcome.preferencesToken}`, label: 'See all your newsletters' },
      }),
    );
  });
}

function suppressedPage(site: App['config']['site']): Page {
  return noticePage(site, {
    title: 'We cannot send to this address',
    message:
      'Messages to this address bounced or were reported as unwanted, so we send nothing to it. If that was a mistake, write to us.',
  });
}

/** The confirmation link's page for each state. */
function confirmationPage(site: App['config']['site'], view: ConfirmationView, path: string): Page {
  switch (view.kind) {
    case 'invalid':
    case 'expired':
      return linkFailurePage(site, view.kind, 'confirm');
    case 'suppressed':
      return suppressedPage(site);
    case 'pending':
      return noticePage(site, {
        title: 'Confirm your subscription',
        message: `You asked for ${view.newsletterNames.join(', ')}. Press the button to start.`,
        action: { path, label: 'Confirm my subscription' },
      });
    case 'confirmed':
      return noticePage(site, {
        title: 'You are subscribed',
        message: `Welcome! ${view.newsletterNames.join(', ')} will arrive at this address from the next issue on.`,
        more: ['Every email has a one-click unsubscribe link at its foot, and a link to your preferences.'],
        link: { href: `/preferences/${view.preferencesToken}`, label: 'See all your newsletters' },
      });
    case 'nothing-pending':
      return noticePage(site, {
        title: 'Already confirmed',
        message:
          view.newsletterNames.length > 0
            ? `This address already receives ${view.newsletterNames.join(', ')}. There is nothing left to confirm.`
            : 'There is nothing left to confirm for this address.',
        link: { href: `/preferences/${view.preferencesToken}`, label: 'See all your newsletters' },
      });
  }
}
