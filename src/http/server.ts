/**
 * The HTTP server (`letterpress serve`). Each area registers its own routes: the reader's pages and the archive
 * (`public/`), the newsroom's pages (`editor/`) and API (`api/`), the signed webhooks (`webhooks/`), health, metrics
 * and the queue dashboard (`ops/`). Routes are thin: parse, call one use case, render.
 * No cookies and no remote resources anywhere: every response carries the security headers (`security-headers.ts`).
 * The server never hangs on Redis: while Redis is away (or before it was ever reached) every page that needs it
 * answers 503 with a calm page, and `/healthz` says so at once.
 */
import { serve, type ServerType } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import type { AddressInfo } from 'node:net';
import type { App } from '../app.js';
import type { Site } from '../config.js';
import { httpStatusFor, isAppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { isRedisUnavailableError } from '../redis.js';
import type { HttpEnv } from './http-env.js';
import { registerHealthRoutes } from './ops/health.js';
import { registerEditorApi } from './api/routes.js';
import { registerEditorRoutes } from './editor/routes.js';
import { registerArchiveRoutes } from './public/archive-routes.js';
import { registerOpsRoutes } from './ops/routes.js';
import { renderNoticePage } from './public/pages.js';
import { registerPublicRoutes } from './public/routes.js';
import { securityHeaders } from './security-headers.js';
import type { BounceRoutesOptions } from './webhooks/bounce-routes.js';
import { registerWebhookRoutes } from './webhooks/routes.js';

/** Paths whose clients are programs: their errors are JSON, not pages. */
const JSON_AREAS = ['/webhooks/', '/api/'];

/** Seconds a client is asked to wait before trying again while Redis is away. */
const RETRY_AFTER_SECONDS = '30';

/** A running HTTP server. */
export interface HttpServer {
  port: number;
  /** Hands every request from now on to another application (the real one, once Redis answers). */
  replace(next: Hono<HttpEnv>): void;
  close(): Promise<void>;
}

/** Options of the HTTP application. */
export type HttpAppOptions = BounceRoutesOptions;

/** Builds the Hono application (exported for tests that call it without a socket). */
export function createHttpApp(app: App, options: HttpAppOptions = {}): Hono<HttpEnv> {
  const http = new Hono<HttpEnv>();
  http.use('*', securityHeaders());
  registerHealthRoutes(http, app);
  registerOpsRoutes(http, app);
  registerPublicRoutes(http, app);
  registerArchiveRoutes(http, app);
  registerEditorRoutes(http, app);
  registerEditorApi(http, app);
  registerWebhookRoutes(http, app, options);
  http.notFound((c) =>
    c.html(renderNoticePage(app.config.site, 'Not found', 'There is nothing at this address.'), 404),
  );
  http.onError((error, c) => answerError(c, error, app));
  return http;
}

/**
 * What `serve` answers before Redis was ever reached: `/healthz` 503, every other path the calm "back shortly"
 * page (JSON for programs), so a reader who clicks a link during an outage is told what happens.
 */
export function createStartingHttpApp(site: Pick<Site, 'name'>): Hono<HttpEnv> {
  const http = new Hono<HttpEnv>();
  http.use('*', securityHeaders());
  http.get('/healthz', (c) => c.json({ ok: false, redis: 'down' }, 503));
  http.all('*', (c) => answerUnavailable(c, site));
  return http;
}

function answerError(c: Context<HttpEnv>, error: Error, app: App): Response {
  if (isRedisUnavailableError(error) || (!isAppError(error) && app.redis.status !== 'ready')) {
    return answerUnavailable(c, app.config.site);
  }
  if (isAppError(error)) {
    const status = httpStatusFor(error.code) as 400;
    if (isJsonArea(c)) return c.json({ error: { code: error.code, message: error.message } }, status);
    return c.html(renderNoticePage(app.config.site, 'This did not work', error.message), status);
  }
  logUnexpected(app.logger, c, error);
  if (isJsonArea(c)) return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  return c.html(
    renderNoticePage(app.config.site, 'Something went wrong', 'Something went wrong on our side. Please try again.'),
    500,
  );
}

function answerUnavailable(c: Context<HttpEnv>, site: Pick<Site, 'name'>): Response {
  c.header('Retry-After', RETRY_AFTER_SECONDS);
  if (isJsonArea(c)) {
    return c.json(
      { error: { code: 'redis_unavailable', message: 'temporarily unavailable; try again in a minute' } },
      503,
    );
  }
  return c.html(
    renderNoticePage(
      site,
      'Back in a few minutes',
      'We cannot reach our records just now, so this page cannot do its work. Nothing was changed, and nothing you ' +
        'did caused this. Please try again in a few minutes; your link will still work.',
    ),
    503,
  );
}

function isJsonArea(c: Context<HttpEnv>): boolean {
  return JSON_AREAS.some((prefix) => c.req.path.startsWith(prefix));
}

function logUnexpected(logger: Logger, c: Context<HttpEnv>, error: Error): void {
  // The path can hold a reader's token: log the route pattern, never the path.
  logger.error({ err: error.message, route: c.req.routePath, method: c.req.method }, 'request failed');
}

/** Starts the HTTP server for an app on the given port (0 picks a free one). */
export async function startHttpServer(app: App, options: { port: number; hostname?: string }): Promise<HttpServer> {
  return listenHttp(createHttpApp(app), options);
}

/** Listens with a replaceable application; `hostname` defaults to every interface. */
export async function listenHttp(
  initial: Hono<HttpEnv>,
  options: { port: number; hostname?: string },
): Promise<HttpServer> {
  let current = initial;
  let server: ServerType | undefined;
  await new Promise<void>((resolve, reject) => {
    server = serve(
      {
        fetch: (request, env) => current.fetch(request, env),
        port: options.port,
        hostname: options.hostname ?? '0.0.0.0',
      },
      () => resolve(),
    );
    server.once('error', reject);
  });
  const listening = server as ServerType;
  const port = (listening.address() as AddressInfo).port;
  return {
    port,
    replace: (next) => {
      current = next;
    },
    close: () => new Promise<void>((resolve) => listening.close(() => resolve())),
  };
}
