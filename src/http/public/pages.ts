/**
 * The public pages readers see: plain HTML from the templates in `../views/public`, inline styles only, no script,
 * no remote font or image, no cookie. Every function returns the page's HTML and its status, so routes stay a line.
 */
import type { Context } from 'hono';
import type { Newsletter, Site } from '../../config.js';
import type { PreferencesView } from '../../subscribers/manage-preferences.js';
import { renderPage } from '../views/render-page.js';

/** A rendered page and the status it is served with. */
export interface Page {
  html: string;
  status: 200 | 400 | 403 | 404 | 410 | 413 | 415 | 429;
}

type SiteName = Pick<Site, 'name'>;

/** A button that posts to a path (hidden fields included). */
interface PageAction {
  path: string;
  label: string;
  fields?: { name: string; value: string }[];
  isSecondary?: boolean;
}

/** What a notice page says: a heading, a paragraph or more, and an optional button or link. */
export interface NoticeContent {
  title: string;
  message: string;
  more?: string[];
  action?: PageAction;
  link?: { href: string; label: string };
}

/** A short page with a heading, its paragraphs and at most one button and one link. */
export function renderNoticePage(site: SiteName, content: NoticeContent | string, message?: string): string {
  const notice = typeof content === 'string' ? { title: content, message: message ?? '' } : content;
  return renderPage('public/notice', { title: notice.title, siteName: site.name }, { ...notice });
}

/** A notice served with a status. */
export function noticePage(site: SiteName, content: NoticeContent, status: Page['status'] = 200): Page {
  return { html: renderNoticePage(site, content), status };
}

/** The sign-up form, with the values and errors of a rejected attempt when there was one. */
export function subscribePage(
  site: SiteName,
  newsletters: readonly Newsletter[],
  form: { email?: string; chosen?: string[]; errors?: string[]; emailError?: boolean } = {},
): Page {
  const chosen = form.chosen ?? (newsletters.length === 1 ? newsletters.map((n) => n.id) : []);
  const html = renderPage(
    'public/subscribe',
    { title: 'Subscribe', siteName: site.name },
    {
      email: form.email ?? '',
      errors: form.errors ?? [],
      emailError: form.emailError ?? false,
      newsletters: newsletters.map((n) => ({ ...n, isChecked: chosen.includes(n.id) })),
    },
  );
  return { html, status: form.errors && form.errors.length > 0 ? 400 : 200 };
}

/**
 * The answer to every accepted sign-up, whatever the address was before: the same bytes for a new, pending, active
 * or suppressed address, so the form cannot tell anyone who reads what.
 */
export function subscribeSentPage(site: SiteName, confirmTtlHours: number): Page {
  return noticePage(site, {
    title: 'Check your inbox',
    message: `If this address can receive our newsletters, an email with a confirmation button is on its way. Press it and your subscription starts; the button works for ${confirmTtlHours} hours.`,
    more: ['Nothing arrived? Look in your spam folder, or ask again in ten minutes.'],
    link: { href: '/subscribe', label: 'Back to the sign-up form' },
  });
}

/** 429 with a calm sentence (the route sets Retry-After). */
export function tooManyRequestsPage(site: SiteName, retryAfterSeconds: number): Page {
  const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
  return noticePage(
    site,
    {
      title: 'Please wait a little',
      message: `We received many requests from here in a short time. Please try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
    },
    429,
  );
}

/** What a personal link was for, to explain a broken or expired one. */
export type LinkKind = 'confirm' | 'unsubscribe' | 'preferences' | 'resubscribe';

const EXPIRED_ADVICE: Record<LinkKind, NoticeContent['link'] & { message: string }> = {
  confirm: {
    message:
      'Confirmation links work for a limited time, and unconfirmed sign-ups are then deleted. Sign up again and we will send a fresh link.',
    href: '/subscribe',
    label: 'Sign up again',
  },
  resubscribe: {
    message: 'The undo button works for seven days after leaving. You can still sign up again.',
    href: '/subscribe',
    label: 'Sign up again',
  },
  unsubscribe: {
    message: 'There is nothing left for this link to change: we hold no subscription for it any more.',
    href: '/subscribe',
    label: 'Sign up',
  },
  preferences: {
    message: 'We hold nothing for this link any more, so there are no preferences to show.',
    href: '/subscribe',
    label: 'Sign up',
  },
};

/** 400 for a forged, altered or cross-purpose link; 410 for an expired one (or one whose record is gone). */
export function linkFailurePage(site: SiteName, failure: 'invalid' | 'expired', kind: LinkKind): Page {
  if (failure === 'expired') {
    const advice = EXPIRED_ADVICE[kind];
    return noticePage(
      site,
      { title: 'This link has expired', message: advice.message, link: { href: advice.href, label: advice.label } },
      410,
    );
  }
  return noticePage(
    site,
    {
      title: 'This link is not valid',
      message:
        'The link is incomplete, altered or was not issued by us. Copy the whole link from the email, or use the links at the foot of any of our newsletters.',
    },
    400,
  );
}

/** The preferences page. */
export function preferencesPage(site: SiteName, view: PreferencesView, actionPath: string): Page {
  const html = renderPage(
    'public/preferences',
    { title: 'Your newsletters', siteName: site.name },
    { ...view, actionPath, isSuppressed: view.status === 'suppressed' },
  );
  return { html, status: 200 };
}

/** Answers with a page at its status. */
export function sendPage(c: Context, page: Page): Response {
  return c.html(page.html, page.status);
}

/** Answers 429 with `Retry-After` and a calm page. */
export function sendTooManyRequests(c: Context, site: SiteName, retryAfterSeconds: number): Response {
  c.header('Retry-After', String(retryAfterSeconds));
  return sendPage(c, tooManyRequestsPage(site, retryAfterSeconds));
}
