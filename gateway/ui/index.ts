import { Hono } from 'hono';
import type { ClusterView } from '../operator/cluster-view.js';

export interface UiRoutesOptions {
  getClusterView: () => Promise<ClusterView> | ClusterView;
}

// Placeholder until the operator-view issue lands: the gateway can already mount it.
export function uiRoutes({ getClusterView }: UiRoutesOptions): Hono {
  const app = new Hono();
  app.get('/ui', async (c) => c.json(await getClusterView()));
  return app;
}
