/**
 * The HTTP server (`letterpress serve`). Each area registers its own routes: the reader's pages (`public/`), the
 * signed webhooks (`webhooks/`), health, metrics and the queue dashboard (`ops/`). Routes are thin: parse, call one use case, render.
 * No cookies and no remote resources anywhere: every response carries the security headers (`security-headers.ts`).
 */
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import type { App } from '../app.js';
import type { HttpEnv } from './http-env.js';
import { registerHealthRoutes } from './ops/health.js';
import { registerOpsRoutes } from './ops/routes.js';
import { renderNoticePage } from './public/pages.js';
import { registerPublicRoutes } from './public/routes.js';
import { securityHeaders } from './security-headers.js';
import { registerWebhookRoutes } from './webhooks/routes.js';

/** A running HTTP server. */
export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

/** Builds the Hono application (exported for tests that call it without a socket). */
export function createHttpApp(app: App): Hono<HttpEnv> {
  const http = new Hono<HttpEnv>();
  http.use('*', securityHeaders());
  registerHealthRoutes(http, app);
  registerOpsRoutes(http, app);
  registerPublicRoutes(http, app);
  registerWebhookRoutes(http, app);
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
