/** The webhooks: the signed CMS push (closed unless WEBHOOK_SECRET is set; no replays) and the bounce reports. */
import { bodyLimit } from 'hono/body-limit';
import { useCaseDeps, type App } from '../../app.js';
import { ingestWebhookPayload } from '../../articles/webhook-payload.js';
import { unpublishArticles } from '../../digests/unpublish-articles.js';
import { httpStatusFor, isAppError } from '../../errors.js';
import type { HttpApp } from '../http-env.js';
import { registerBounceRoutes, type BounceRoutesOptions } from './bounce-routes.js';
import { createReplayGuard, verifySignedRequest } from './signed-request.js';

/** Largest webhook body read, in bytes; larger ones are refused while arriving. */
export const WEBHOOK_MAX_BYTES = 5 * 1024 * 1024;

/** Registers `POST /webhooks/articles` (articles in, and `unpublished` ids out of every unsent issue) and the bounce webhooks. */
export function registerWebhookRoutes(http: HttpApp, app: App, options: BounceRoutesOptions = {}): void {
  registerBounceRoutes(http, app, options);
  const replay = createReplayGuard(app.redis, app.keys);
  http.post(
    '/webhooks/articles',
    bodyLimit({
      maxSize: WEBHOOK_MAX_BYTES,
      onError: (c) =>
        c.json({ error: { code: 'input_invalid', message: `webhook body over ${WEBHOOK_MAX_BYTES} bytes` } }, 413),
    }),
    async (c) => {
      const secret = app.config.http.webhookSecret;
      if (!secret) {
        return c.json(
          { error: { code: 'not_found', message: 'the webhook is not enabled (set WEBHOOK_SECRET)' } },
          404,
        );
      }
      try {
        const body = Buffer.from(await c.req.arrayBuffer());
        await verifySignedRequest({ secret, replay, clock: app.clock }, body, c.req.header('x-letterpress-signature'));
        const { unpublished, ...report } = await ingestCounted(app, body);
        if (unpublished.length === 0) return c.json(report);
        const taken = await unpublishArticles({ ...useCaseDeps(app), config: app.config }, unpublished);
        return c.json({ ...report, unpublished: taken });
      } catch (error) {
        if (!isAppError(error)) throw error;
        return c.json({ error: { code: error.code, message: error.message } }, httpStatusFor(error.code) as 400);
      }
    },
  );
}

/** Runs the webhook's ingest and counts it in the metrics as the feed `webhook`, whether it was accepted or not. */
async function ingestCounted(app: App, body: Buffer) {
  try {
    const report = await ingestWebhookPayload(
      { store: app.articles, logger: app.logger, maxBytes: WEBHOOK_MAX_BYTES, clock: app.clock },
      body,
    );
    const articles = report.ingested + report.updated + report.unchanged;
    await app.metrics.recordIngest([{ feed: 'webhook', ok: true, articles }], report, app.clock());
    return report;
  } catch (error) {
    const none = { ingested: 0, updated: 0, unchanged: 0 };
    await app.metrics.recordIngest([{ feed: 'webhook', ok: false }], none, app.clock()).catch(() => undefined);
    throw error;
  }
}
