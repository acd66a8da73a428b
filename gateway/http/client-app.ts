import { NOT_READY_RETRY_AFTER_SECONDS } from '../../common/back-pressure.js';
import { Hono } from 'hono';
import { GpumuxError } from '../../common/errors.js';
import { errorHandlers } from '../../common/http/hono-errors.js';
import type { Inventory } from '../inventory/inventory.js';
import { modelReady, notReadyModels } from './readiness.js';
import { packageVersion } from '../../common/http/package-version.js';

export interface ClientAppOptions {
  inventory: Inventory;
  /** What /v2/health/ready requires (`name` or `name:version`); default every model seen. */
  models?: readonly string[] | undefined;
  /** True once the gateway is shutting down: readiness fails so no new traffic is sent here. */
  draining?: () => boolean;
}

/**
 * The gateway's own client routes (the proxied ones never reach Hono): server metadata, liveness, readiness
 * over the whole cluster, per-model readiness, and /v2-shaped errors for everything else.
 */
export function clientApp({ inventory, models, draining = () => false }: ClientAppOptions): Hono {
  const app = new Hono();
  const version = packageVersion();

  app.get('/v2', (c) => c.json({ name: 'gpumux', version, extensions: ['binary_tensor_data'] }));
  app.get('/v2/health/live', (c) => c.json({ live: true }));
  app.get('/v2/health/ready', (c) => {
    if (draining())
      throw new GpumuxError('DRAINING', 'the gateway is shutting down', {
        retryAfterSeconds: NOT_READY_RETRY_AFTER_SECONDS,
      });
    const missing = notReadyModels(inventory, models);
    if (missing === null)
      throw new GpumuxError('NOT_READY', 'no replica discovered yet', {
        retryAfterSeconds: NOT_READY_RETRY_AFTER_SECONDS,
      });
    if (missing.length > 0) {
      throw new GpumuxError('NOT_READY', `no ready replica for ${missing.join(', ')}`, {
        retryAfterSeconds: NOT_READY_RETRY_AFTER_SECONDS,
      });
    }
    return c.json({ ready: true });
  });
  const modelReadyRoute = (model: string, version: string | null) => {
    if (inventory.byModel(model).length === 0)
      throw new GpumuxError('MODEL_NOT_FOUND', `model ${model} is not served here`);
    if (!modelReady(inventory, model, version)) {
      throw new GpumuxError('NOT_READY', `no ready replica for ${model}`, {
        retryAfterSeconds: NOT_READY_RETRY_AFTER_SECONDS,
      });
    }
    return Response.json({ name: model, ready: true });
  };
  app.get('/v2/models/:model/ready', (c) => modelReadyRoute(c.req.param('model'), null));
  app.get('/v2/models/:model/versions/:version/ready', (c) =>
    modelReadyRoute(c.req.param('model'), c.req.param('version')),
  );
  const { onError, notFound } = errorHandlers({ shape: 'v2' });
  app.notFound(notFound);
  app.onError(onError);
  return app;
}
