import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import type { ReplicaEnv } from './env.js';
import { endpoint } from './request-tracking.js';

/** `GET /metrics` in Prometheus text format from the replica's own registry. */
export function metricsRoute({ registry }: { registry: Registry }): Hono<ReplicaEnv> {
  const app = new Hono<ReplicaEnv>();
  app.get('/metrics', endpoint('metrics'), async (c) =>
    c.body(await registry.metrics(), 200, { 'content-type': registry.contentType }),
  );
  return app;
}
