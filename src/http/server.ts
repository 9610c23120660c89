/**
 * The HTTP server (`letterpress serve`). Each area registers its own routes: the reader's pages and the archive
 * (`public/`), the newsroom's pages (`editor/`) and API (`api/`), the signed webhooks (`webhooks/`), health and
 * operations (`ops/`). Routes are thin: parse, call one use case, render.
 * No cookies and no remote resources anywhere: every response carries the security headers (`security-headers.ts`).
 */
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import type { App } from '../app.js';
import type { HttpEnv } from './http-env.js';
import { registerHealthRoutes } from './ops/health.js';
import { registerEditorApi } from './api/routes.js';
import { registerEditorRoutes } from './editor/routes.js';
import { registerArchiveRoutes } from './public/archive-routes.js';
import { renderNoticePage } from './public/pages.js';
import { registerPublicRoutes } from './public/routes.js';
import { securityHeaders } from './security-headers.js';
import type { BounceRoutesOptions } from './webhooks/bounce-routes.js';
import { registerWebhookRoutes } from './webhooks/routes.js';

/** A running HTTP server. */
export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

/** Options of the HTTP application. */
export type HttpAppOptions = BounceRoutesOptions;

/** Builds the Hono application (exported for tests that call it without a socket). */
export function createHttpApp(app: App, options: HttpAppOptions = {}): Hono<HttpEnv> {
  const http = new Hono<HttpEnv>();
  http.use('*', securityHeaders());
  registerHealthRoutes(http, app);
  registerPublicRoutes(http, app);
  registerArchiveRoutes(http, app);
  registerEditorRoutes(http, app);
  registerEditorApi(http, app);
  registerWebhookRoutes(http, app, options);
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
