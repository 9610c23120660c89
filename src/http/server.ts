/**
 * The HTTP server (`letterpress serve`): health, and the one-click unsubscribe every message links to (RFC 8058
 * POST from mailbox providers, and a confirm page for people who click the footer link). No cookies, no remote
 * resources: every response carries a strict Content-Security-Policy. Also the signed CMS webhook.
 */
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AddressInfo } from 'node:net';
import type { App } from '../app.js';
import { ingestWebhookPayload } from '../articles/webhook-payload.js';
import { httpStatusFor, isAppError } from '../errors.js';
import { unsubscribeByToken } from '../subscribers/unsubscribe-by-token.js';
import { createSubscriberToken, verifySubscriberToken } from '../subscribers/tokens.js';
import { renderNoticePage, renderPreferencesPage, renderUnsubscribeConfirmPage } from './public/pages.js';

/** A running HTTP server. */
export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

/** Largest webhook body read, in bytes; larger ones are refused while arriving. */
const WEBHOOK_MAX_BYTES = 5 * 1024 * 1024;

/** Headers on every response: nothing remote may load, nothing is remembered, no referrer leaks. */
const PRIVACY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
};

/** Builds the Hono application (exported for tests that call it without a socket). */
export function createHttpApp(app: App): Hono {
  const http = new Hono();
  http.use('*', async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(PRIVACY_HEADERS)) c.res.headers.set(name, value);
  });

  http.get('/healthz', async (c) => {
    try {
      await app.redis.ping();
      return c.json({ ok: true, redis: 'up' });
    } catch {
      return c.json({ ok: false, redis: 'down' }, 503);
    }
  });

  // The preferences page: which newsletters this reader receives, each with a leave button.
  http.get('/preferences/:token', async (c) => {
    const claim = verifySubscriberToken(app.config.secret, c.req.param('token'));
    const subscriber = claim ? await app.subscribers.get(claim.subscriberId) : undefined;
    if (!claim || !subscriber) {
      return c.html(
        renderNoticePage(
          app.config.site,
          'This link is not valid',
          'The preferences link is damaged or was not issued by us. Use the link in the newsletter’s footer.',
        ),
        400,
      );
    }
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
    if (outcome.kind === 'invalid') {
      return c.html(
        renderNoticePage(
          app.config.site,
          'This link is not valid',
          'The unsubscribe link is damaged or was not issued by us. Use the link in the newsletter’s footer.',
        ),
        400,
      );
    }
    return c.html(
      renderNoticePage(
        app.config.site,
        'You are unsubscribed',
        `You will receive no more ${outcome.newsletterName} emails. Nothing else is kept about this visit.`,
      ),
    );
  });

  // The signed CMS webhook: closed unless WEBHOOK_SECRET is set. Timestamped signatures only (no replays).
  http.post(
    '/webhooks/articles',
    bodyLimit({
      maxSize: WEBHOOK_MAX_BYTES,
      onError: (c) =>
        c.json({ error: { code: 'input_invalid', message: `webhook body over ${WEBHOOK_MAX_BYTES} bytes` } }, 413),
    }),
    async (c) => {
      const secret = app.config.http.webhookSecret;
      if (!secret)
        return c.json(
          { error: { code: 'not_found', message: 'the webhook is not enabled (set WEBHOOK_SECRET)' } },
          404,
        );
      try {
        const report = await ingestWebhookPayload(
          {
            store: app.articles,
            secret,
            logger: app.logger,
            maxBytes: WEBHOOK_MAX_BYTES,
            signature: { requireTimestamp: true },
          },
          Buffer.from(await c.req.arrayBuffer()),
          c.req.header('x-letterpress-signature'),
        );
        return c.json(report);
      } catch (error) {
        if (!isAppError(error)) throw error;
        return c.json({ error: { code: error.code, message: error.message } }, httpStatusFor(error.code) as 400);
      }
    },
  );

  http.notFound((c) =>
    c.html(renderNoticePage(app.config.site, 'Not found', 'There is nothing at this address.'), 404),
  );
  return http;
}

/** Starts the HTTP server on the given port (0 picks a free one). */
export async function startHttpServer(app: App, options: { port: number; hostname?: string }): Promise<HttpServer> {
  const http = createHttpApp(app);
  let server: ServerType | undefined;
  await new Promise<void>((resolve) => {
    server = serve({ fetch: http.fetch, port: options.port, hostname: options.hostname ?? '0.0.0.0' }, () => resolve());
  });
  const listening = server as ServerType;
  const port = (listening.address() as AddressInfo).port;
  return {
    port,
    close: () => new Promise<void>((resolve) => listening.close(() => resolve())),
  };
}
