import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { ClusterView } from '../../gateway/operator/cluster-view.js';
import { uiRoutes } from '../../gateway/ui/index.js';

export interface FixtureServer {
  url: string;
  /** Replace what both /ui/events and /v1/cluster answer from now on. */
  setView(view: ClusterView): void;
  close(): Promise<void>;
}

/**
 * The real uiRoutes and a /v1/cluster on a real port, fed a hand-built ClusterView: for page behaviour the
 * real stack cannot easily produce (a GPU vanishing, SSE blocked by a proxy). The stack itself is tested in
 * operator-view.test.ts.
 */
export async function startFixtureServer(
  initial: ClusterView,
  { breakEvents = false } = {},
): Promise<FixtureServer> {
  let view = initial;
  const app = new Hono();
  // A proxy that refuses streams: the page must fall back to polling /v1/cluster.
  if (breakEvents) app.get('/ui/events', (c) => c.text('no streams here', 502));
  app.route(
    '/',
    uiRoutes({ getClusterView: () => ({ ...view, generatedAt: new Date().toISOString() }), intervalMs: 250 }),
  );
  app.get('/v1/cluster', (c) => c.json({ ...view, generatedAt: new Date().toISOString() }));
  const server: ServerType = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setView: (next) => {
      view = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // SSE connections never end on their own
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
