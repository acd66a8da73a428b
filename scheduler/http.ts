import { Hono } from 'hono';
import { GpumuxError, v1ErrorBody } from '../common/errors.js';
import type { Scheduler } from './scheduler.js';

/**
 * The scheduler's HTTP face: `GET /v1/plan` (PlanView, docs/contracts.md §6), `/healthz`, `/metrics`.
 *
 * @example serve({ fetch: schedulerApp({ scheduler, isLeader }).fetch, port: 8070 })
 */
export function schedulerApp(options: { scheduler: Scheduler; isLeader: () => boolean }): Hono {
  const { scheduler, isLeader } = options;
  const app = new Hono();
  app.get('/v1/plan', (c) => {
    const plan = scheduler.plan();
    if (!plan) {
      const err = new GpumuxError('NOT_READY', 'no plan yet', { retryAfterSeconds: 1 });
      return c.json(v1ErrorBody(err), 503, { 'retry-after': '1' });
    }
    return c.json(plan);
  });
  app.get('/healthz', (c) =>
    c.json({ status: 'ok', leader: isLeader(), planned: scheduler.plan() !== null }),
  );
  app.get('/metrics', async (c) =>
    c.text(await scheduler.metrics.registry.metrics(), 200, {
      'content-type': scheduler.metrics.registry.contentType,
    }),
  );
  app.notFound((c) =>
    c.json(v1ErrorBody(new GpumuxError('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`)), 404),
  );
  return app;
}
