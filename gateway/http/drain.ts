import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { cutConnections } from '../../common/http/cut-connections.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

export interface DrainOptions {
  /** Readiness fails this long before the listener stops accepting (lets load balancers notice). */
  notReadyDelayMs: number;
  /** In-flight requests get this long to finish once the listener stopped accepting. */
  graceMs: number;
}

export interface Drain {
  readonly draining: boolean;
  inFlight(): number;
  /** Wraps the server's listener: counts requests in flight, asks clients to reconnect while draining. */
  track(listener: Listener): Listener;
  /**
   * Graceful close: mark draining, wait notReadyDelayMs, stop accepting, close idle keep-alive connections
   * as they go idle, wait for in-flight requests up to graceMs, then cut what remains — requests in flight
   * and every connection still open (half-sent headers or bodies included). Resolves by notReadyDelayMs +
   * graceMs + CUT_WAIT_MS (common/http/cut-connections.ts) whatever clients do.
   */
  close(server: Server, options: DrainOptions): Promise<DrainResult>;
}

/** What the drain deadline cut. */
export interface DrainResult {
  /** Requests still in flight at the deadline. */
  requests: number;
  /** Connections still open at the deadline (in-flight requests' included). */
  connections: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createDrain(): Drain {
  let inFlight = 0;
  let draining = false;
  let idle: (() => void) | null = null;

  return {
    get draining() {
      return draining;
    },
    inFlight: () => inFlight,
    track(listener) {
      return function trackedListener(req, res) {
        inFlight++;
        res.once('close', () => {
          inFlight--;
          if (inFlight === 0) idle?.();
        });
        // Keep-alive clients should open their next connection to another gateway.
        if (draining) res.setHeader('connection', 'close');
        listener(req, res);
      };
    },
    async close(server, { notReadyDelayMs, graceMs }) {
      draining = true;
      if (notReadyDelayMs > 0) await sleep(notReadyDelayMs);
      // Nothing in flight: the cut comes at once (an idle or half-sent connection is not worth the grace).
      const settled = inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (idle = resolve));
      let requests = 0;
      const connections = await cutConnections(server, {
        graceMs,
        settled,
        beforeCut: () => (requests = inFlight),
      });
      idle = null;
      return { requests, connections };
    },
  };
}
