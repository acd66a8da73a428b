import { Hono } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { GpumuxError, v1ErrorBody } from '../../common/errors.js';
import { errorHandlers } from '../../common/http/hono-errors.js';
import { createTokenCheck } from '../auth/bearer.js';
import { uiRoutes } from '../ui/index.js';
import type { ClusterView } from './cluster-view.js';
import type { GatewayMetrics } from './metrics.js';

export interface AdminAppOptions {
  getClusterView: () => Promise<ClusterView>;
  metrics: GatewayMetrics;
  /** Bearer tokens for every operator route but /healthz; none: open (the admin port is the boundary). */
  tokens?: readonly string[];
}

/** The operator side: GET /v1/cluster, GET /metrics, GET /healthz and the UI (gateway/ui). */
export function adminApp({ getClusterView, metrics, tokens = [] }: AdminAppOptions): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ ok: true }));
  if (tokens.length > 0) {
    // hono's bearer-auth (RFC 6750 answers: 401 with WWW-Authenticate, 400 for a malformed header) with our
    // constant-time digest check and our error shape.
    const known = createTokenCheck(tokens);
    const unauthorized = v1ErrorBody(new GpumuxError('UNAUTHORIZED', 'missing or invalid bearer token'));
    app.use(
      '*',
      bearerAuth({
        verifyToken: (token) => known(token),
        noAuthenticationHeader: { message: unauthorized },
        invalidToken: { message: unauthorized },
        invalidAuthenticationHeader: {
          message: v1ErrorBody(new GpumuxError('BAD_REQUEST', 'malformed authorization header')),
        },
      }),
    );
  }
  app.get('/v1/cluster', async (c) => c.json(await getClusterView()));
  app.get('/metrics', async () => {
    const body = await metrics.registry.metrics();
    return new Response(body, { headers: { 'content-type': metrics.registry.contentType } });
  });
  app.route('/', uiRoutes({ getClusterView }));
  // bearer-auth's 401/400 are HTTPExceptions with their response already rendered: sent as they are
  const { onError, notFound } = errorHandlers({ shape: 'v1' });
  app.notFound(notFound);
  app.onError(onError);
  return app;
}
