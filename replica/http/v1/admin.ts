import { Hono } from 'hono';
import type { Lifecycle } from '../lifecycle.js';
import type { ReplicaEnv } from '../env.js';
import { endpoint } from '../request-tracking.js';

export interface AdminRoutesOptions {
  /** Stats as clients see them; `drain()` is the same as SIGTERM without the exit. */
  lifecycle: Lifecycle;
}

/**
 * `GET /v1/stats` (the `ReplicaStats` contract the gateway and scheduler read) and `POST /v1/drain`
 * (answers 202 at once; poll /v1/stats until `inFlight` is 0).
 */
export function adminRoutes({ lifecycle }: AdminRoutesOptions): Hono<ReplicaEnv> {
  const app = new Hono<ReplicaEnv>();
  app.get('/v1/stats', endpoint('stats'), (c) => c.json(lifecycle.stats()));
  app.post('/v1/drain', endpoint('drain'), (c) => {
    lifecycle.drain();
    const stats = lifecycle.stats();
    return c.json({ state: stats.state, inFlight: stats.inFlight }, 202);
  });
  return app;
}
