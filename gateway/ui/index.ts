import { Hono } from 'hono';
import type { ClusterView } from '../operator/cluster-view.js';
import { APP_CSS } from './assets/app-css.js';
import { BROWSER_MODULES } from './assets/browser-modules.js';
import { PAGE_HTML } from './assets/page-html.js';
import { clusterEvents } from './events.js';

export interface UiRoutesOptions {
  getClusterView: () => Promise<ClusterView> | ClusterView;
  /** How often /ui/events pushes a ClusterView (default 1000 ms). */
  intervalMs?: number;
}

// Everything the page needs comes from this server (the cluster may have no internet): the policy makes
// the browser refuse anything else, so a stray CDN link fails loudly in the browser test.
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function asset(body: string, type: string) {
  return function serveAsset(): Response {
    return new Response(body, {
      headers: {
        'content-type': type,
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
        'content-security-policy': CONTENT_SECURITY_POLICY,
      },
    });
  };
}

/**
 * The operator view: GET /ui (the page), /ui/app.js and the modules it imports, /ui/app.css and /ui/events (a ClusterView every
 * second as server-sent events). The page falls back to polling GET /v1/cluster when SSE fails.
 *
 * @example
 * admin.route('/', uiRoutes({ getClusterView: () => inventory.clusterView() }));
 */
export function uiRoutes({ getClusterView, intervalMs = 1000 }: UiRoutesOptions): Hono {
  const app = new Hono();
  app.get('/ui', asset(PAGE_HTML, 'text/html; charset=utf-8'));
  app.get('/ui/', (c) => c.redirect('/ui', 308));
  for (const [name, source] of BROWSER_MODULES)
    app.get(`/ui/${name}`, asset(source, 'text/javascript; charset=utf-8'));
  app.get('/ui/app.css', asset(APP_CSS, 'text/css; charset=utf-8'));
  app.get('/ui/events', clusterEvents({ getClusterView, intervalMs }));
  return app;
}
