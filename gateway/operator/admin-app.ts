import { Hono } from 'hono';
import { GpumuxError, errorHeaders, v1ErrorBody } from '../../common/errors.js';
import { uiRoutes } from '../ui/index.js';
import type { ClusterView } from './cluster-view.js';
import type { GatewayMetrics } from './metrics.js';

export interface AdminAppOptions {
  getClusterView: () => Promise<ClusterView>;
  metrics: GatewayMetrics;
  /** Bearer check for every operator route; undefined: open (the admin port is the boundary). */
  authorize?: ((authorization: string | undefined) => boolean) | undefined;
}

/** The operator side: GET /v1/cluster, GET /metrics, GET /healthz and the UI (gateway/ui). */
export function adminApp({ getClusterView, metrics, authorize }: AdminAppOptions): Hono {
  const app = new Hono();
  const fail = (err: GpumuxError, extra: Record<string, string> = {}) =>
    new Response(JSON.stringify(v1ErrorBody(err)), {
      status: err.status,
      headers: { 'content-type': 'application/json', ...errorHeaders(err), ...extra },
    });
  app.get('/healthz', (c) => c.json({ ok: true }));
  if (authorize) {
    app.use('*', async (c, next) => {
      if (!authorize(c.req.header('authorization'))) {
        return fail(new GpumuxError('UNAUTHORIZED', 'missing or invalid bearer token'), {
          'www-authenticate': 'Bearer',
        });
      }
      await next();
    });
  }
  app.get('/v1/cluster', async (c) => c.json(await getClusterView()));
  app.get('/metrics', async () => {
    const body = await metrics.registry.metrics();
    return new Response(body, { headers: { 'content-type': metrics.registry.contentType } });
  });
  app.route('/', uiRoutes({ getClusterView }));
  app.notFound(() => fail(new GpumuxError('NOT_FOUND', 'no such route')));
  app.onError((err) =>
    fail(err instanceof GpumuxError ? err : new GpumuxError('INTERNAL', 'internal error')),
  );
  return app;
}
