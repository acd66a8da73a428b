import { Hono } from 'hono';
import { NOT_READY_RETRY_AFTER_SECONDS } from '../common/back-pressure.js';
import { GpumuxError } from '../common/errors.js';
import { errorHandlers } from '../common/http/hono-errors.js';
import type { Scheduler } from './pass-runner.js';

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
      throw new GpumuxError('NOT_READY', 'no plan yet', { retryAfterSeconds: NOT_READY_RETRY_AFTER_SECONDS });
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
  const { onError, notFound } = errorHandlers({ shape: 'v1' });
  app.notFound(notFound);
  app.onError(onError);
  return app;
}
