/** Liveness for load balancers and container healthchecks: open to everyone, says nothing private. */
import type { App } from '../../app.js';
import type { HttpApp } from '../http-env.js';

/** Registers `GET /healthz`. */
export function registerHealthRoutes(http: HttpApp, app: App): void {
  http.get('/healthz', async (c) => {
    try {
      await app.redis.ping();
      return c.json({ ok: true, redis: 'up' });
    } catch {
      return c.json({ ok: false, redis: 'down' }, 503);
    }
  });
}
