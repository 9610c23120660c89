/** Liveness for load balancers and container healthchecks: open to everyone, says nothing private, never hangs. */
import type { App } from '../../app.js';
import { isRedisResponsive } from '../../redis.js';
import type { HttpApp } from '../http-env.js';

/** Longest the health check waits for Redis to answer a PING before it says Redis is down. */
export const HEALTH_REDIS_TIMEOUT_MS = 2_000;

/** Registers `GET /healthz`: 200 with Redis up, 503 at once while Redis is away or within two seconds if it hangs. */
export function registerHealthRoutes(http: HttpApp, app: App): void {
  http.get('/healthz', async (c) => {
    if (await isRedisResponsive(app.redis, HEALTH_REDIS_TIMEOUT_MS)) return c.json({ ok: true, redis: 'up' });
    return c.json({ ok: false, redis: 'down' }, 503);
  });
}
