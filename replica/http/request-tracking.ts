import type { HttpBindings } from '@hono/node-server';
import type { MiddlewareHandler } from 'hono';
import type { ReplicaEnv } from './env.js';

/** Names a route for metrics; put it first on each route. */
export function endpoint(name: string): MiddlewareHandler<ReplicaEnv> {
  return async function endpointName(c, next) {
    c.set('endpoint', name);
    await next();
  };
}

export interface RequestTracker {
  /** Counts the request while it runs and reports it when answered (errors included). */
  middleware: MiddlewareHandler<ReplicaEnv>;
  /** HTTP requests being handled right now. */
  inFlight(): number;
  /** Resolves once no request is being handled and every answer has gone out (at once if none is). */
  idle(): Promise<void>;
}

/**
 * Tracks requests for metrics and for draining: SIGTERM waits until every request that arrived before it
 * has been answered, including those still reading their body or decoding (not yet in the engine's queue).
 */
export function createRequestTracker({
  observe,
}: {
  observe: (info: { endpoint: string; status: number; seconds: number }) => void;
}): RequestTracker {
  let active = 0;
  let waiters: (() => void)[] = [];
  const settle = (): void => {
    if (active !== 0) return;
    const ready = waiters;
    waiters = [];
    for (const resolve of ready) resolve();
  };
  return {
    middleware: async function trackRequest(c, next) {
      const started = performance.now();
      active++;
      try {
        await next();
      } finally {
        observe({
          endpoint: c.get('endpoint') ?? 'unmatched',
          status: c.res.status,
          seconds: (performance.now() - started) / 1000,
        });
        // The answer is written after the handlers return: "answered" is once it went out (or the client left),
        // so a replica that exits once idle (drained, or on CUDA OOM) does not cut its last answers off.
        const done = () => {
          active--;
          settle();
        };
        const { outgoing } = (c.env as Partial<HttpBindings> | undefined) ?? {}; // absent under app.request()
        if (outgoing && !outgoing.writableFinished && !outgoing.destroyed) outgoing.once('close', done);
        else done();
      }
    },
    inFlight: () => active,
    idle: () => (active === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
  };
}
