/**
 * bull-board at `/ops/queues`: every queue of the registry, with its jobs, their data and failures, and the actions
 * bull-board offers (retry, promote, clean, pause). Its page and assets are served from our origin: the one remote
 * resource its page links (a web font) is removed, and the route sets a policy that allows its own scripts and
 * styles from this origin and nothing else.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import type { MiddlewareHandler } from 'hono';
import type { HttpEnv } from '../http-env.js';

/** Where the dashboard lives. */
export const QUEUE_DASHBOARD_PATH = '/ops/queues';

/** The dashboard's policy: its scripts, styles, images and fonts from this origin only; no frames, no other origin. */
export const QUEUE_DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
].join('; ');

/** Any stylesheet or font link to another origin (bull-board's page links Google Fonts). */
const REMOTE_LINK = /<link\b[^>]*\bhref="https?:\/\/[^"]*"[^>]*>/gi;

/** The dashboard as a Hono sub-application, to be mounted at `QUEUE_DASHBOARD_PATH` behind the operators' token. */
export function createQueueDashboard(queues: readonly Queue[]) {
  const serverAdapter = new HonoAdapter(serveStatic);
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Letterpress queues', hideDocsLink: true } },
  });
  return serverAdapter.registerPlugin();
}

/** Sets the dashboard's policy and strips remote links from its HTML. */
export function keepDashboardOnOurOrigin(): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    await next();
    c.res.headers.set('Content-Security-Policy', QUEUE_DASHBOARD_CSP);
    if (!(c.res.headers.get('content-type') ?? '').startsWith('text/html')) return;
    const html = (await c.res.text()).replace(REMOTE_LINK, '');
    const headers = new Headers(c.res.headers);
    headers.delete('content-length');
    c.res = new Response(html, { status: c.res.status, headers });
  };
}
