import type { IncomingMessage, Server, ServerResponse } from 'node:http';

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
   * graceMs + CUT_WAIT_MS whatever clients do.
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

/** How long cut connections get to report closed before close() stops waiting for them. */
const CUT_WAIT_MS = 1000;

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
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        // Connections that finish their request go idle: close them as they do.
        const sweep = setInterval(() => server.closeIdleConnections(), 100);
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          idle = resolve;
          timer = setTimeout(resolve, graceMs);
        });
        clearInterval(sweep);
        clearTimeout(timer);
        idle = null;
      }
      const requests = inFlight;
      const connections = await new Promise<number>((resolve) =>
        server.getConnections((err, n) => resolve(err ? 0 : n)),
      );
      server.closeAllConnections();
      // closeAllConnections destroys every socket the server knows of; do not hang on one that lingers.
      await Promise.race([closed, new Promise<void>((r) => setTimeout(r, CUT_WAIT_MS).unref())]);
      return { requests, connections };
    },
  };
}
