/**
 * `GET /subscribe` (the form) and `POST /subscribe` (form-encoded; also from the publication's own pages on other
 * origins listed in SUBSCRIBE_ALLOWED_ORIGINS). Every accepted post gets the same page, status and headers, whatever
 * the address was before; a filled-in honeypot gets that page too, and nothing happens.
 */
import { z } from 'zod';
import type { App } from '../../app.js';
import { formatZodIssues } from '../../errors.js';
import { EmailSchema } from '../../subscribers/subscriber.js';
import { subscribeReader } from '../../subscribers/subscribe-reader.js';
import { checkOrigin } from '../access/require-token.js';
import { clientAddress } from '../client-address.js';
import type { HttpApp } from '../http-env.js';
import { isPage, limitFormBody, listField, readForm } from './form-body.js';
import { noticePage, sendPage, sendTooManyRequests, subscribePage, subscribeSentPage } from './pages.js';
import type { ReaderDeps } from './reader-deps.js';

/** The sign-up form's fields. `website` is the honeypot: people never see it, robots fill it in. */
export const SubscribeFormSchema = z.object({
  email: EmailSchema,
  newsletters: z.array(z.string()).min(1, 'choose at least one newsletter'),
  website: z.string().default(''),
});

/** Registers the sign-up routes. */
export function registerSubscribeRoutes(http: HttpApp, app: App, deps: ReaderDeps): void {
  const { site, newsletters } = app.config;
  const known = new Set(newsletters.map((n) => n.id));
  const limits = app.readerLimits;
  const ownOrigins = () => [new URL(site.baseUrl).origin, ...app.config.subscribe.allowedOrigins];
  const crossSitePage = noticePage(
    site,
    {
      title: 'Sign up on our own page',
      message: 'This form was sent from a site we do not know, so we did not act on it.',
      link: { href: '/subscribe', label: 'Open the sign-up form' },
    },
    403,
  );
  const refuseCrossSite = checkOrigin(ownOrigins, (c) => sendPage(c, crossSitePage));

  // `/subscribe?newsletter=culture` (repeatable) ticks those boxes: a newsletter's own page can link to its sign-up.
  http.get('/subscribe', (c) => {
    const asked = (c.req.queries('newsletter') ?? []).filter((id) => known.has(id));
    return sendPage(c, subscribePage(site, newsletters, asked.length > 0 ? { chosen: asked } : {}));
  });

  http.post('/subscribe', refuseCrossSite, limitFormBody(site), async (c) => {
    const overIp = await limits.subscribePerIp.consume(clientAddress(c, app.config.http.trustedProxies));
    if (!overIp.allowed) return sendTooManyRequests(c, site, overIp.retryAfterSeconds);
    const form = await readForm(c, site);
    if (isPage(form)) return sendPage(c, form);
    const parsed = SubscribeFormSchema.safeParse({ ...form, newsletters: listField(form.newsletters) });
    const chosen = listField(form.newsletters);
    const unknown = chosen.filter((id) => !known.has(id));
    if (!parsed.success || unknown.length > 0) {
      const errors = parsed.success ? [] : formatZodIssues(parsed.error).split('; ');
      if (unknown.length > 0) errors.push(`newsletters: we have no newsletter called ${unknown.join(', ')}`);
      const email = typeof form.email === 'string' ? form.email.slice(0, 254) : '';
      const emailError = !parsed.success && parsed.error.issues.some((issue) => issue.path[0] === 'email');
      return sendPage(c, subscribePage(site, newsletters, { email, chosen, errors, emailError }));
    }
    if (parsed.data.website !== '') return sendPage(c, subscribeSentPage(site, app.config.subscribe.confirmTtlHours));
    const overAddress = await limits.subscribePerAddress.consume(limits.addressKey(parsed.data.email));
    if (!overAddress.allowed) return sendTooManyRequests(c, site, overAddress.retryAfterSeconds);
    await subscribeReader(deps, { email: parsed.data.email, newsletterIds: parsed.data.newsletters });
    return sendPage(c, subscribeSentPage(site, app.config.subscribe.confirmTtlHours));
  });
}
