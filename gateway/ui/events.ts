import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { createLogger } from '../../common/log.js';
import type { ClusterView } from '../operator/cluster-view.js';

export interface ClusterEventsOptions {
  getClusterView: () => Promise<ClusterView> | ClusterView;
  /** How often a ClusterView is pushed. */
  intervalMs?: number;
  /** Reconnect delay the browser's EventSource uses after a drop. */
  retryMs?: number;
}

const log = createLogger({ component: 'gateway-ui' });

/**
 * Server-sent events: one `cluster` event (a ClusterView as JSON) every interval until the client leaves.
 * A failing getClusterView sends a `problem` event and the stream goes on: the page keeps its last picture.
 *
 * @example
 * app.get('/ui/events', clusterEvents({ getClusterView: () => inventory.view() }));
 */
export function clusterEvents({ getClusterView, intervalMs = 1000, retryMs = 2000 }: ClusterEventsOptions) {
  return function clusterEventsHandler(c: Context): Response {
    c.header('X-Accel-Buffering', 'no'); // proxies such as nginx must not hold events back
    return streamSSE(c, async (stream) => {
      let sequence = 0;
      while (!stream.aborted && !stream.closed) {
        sequence += 1;
        let event: 'cluster' | 'problem';
        let data: string;
        try {
          event = 'cluster';
          data = JSON.stringify(await getClusterView());
        } catch (error) {
          log.warn('cluster view failed', { error });
          event = 'problem';
          data = JSON.stringify({ message: error instanceof Error ? error.message : String(error) });
        }
        // retry goes with the first event only: the browser keeps it for the connection
        await stream.writeSSE({
          event,
          id: String(sequence),
          data,
          ...(sequence === 1 ? { retry: retryMs } : {}),
        });
        await stream.sleep(intervalMs);
      }
    });
  };
}
