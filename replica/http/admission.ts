import type { MiddlewareHandler } from 'hono';
import { GpumuxError } from '../../common/errors.js';
import type { ReplicaEnv } from './env.js';
import { refuseUnread } from '../../common/http/hono-errors.js';

export interface WorkAdmission {
  middleware: MiddlewareHandler<ReplicaEnv>;
  /** Work requests admitted and not yet answered. */
  active(): number;
}

/**
 * Admits a work request (detect, infer). Beyond `limit()` requests at once the replica answers 429 +
 * Retry-After straight away, body unread. A request takes its slot only once its body is complete or proven
 * fast (the route calls `c.get('takeSlot')`, read-body.ts's `onReady`) — the gateway's rule — so clients
 * trickling their bodies cannot hold every slot; those are bounded by the body budget and cut off by the
 * minimum upload rate instead. The engine's queue bounds frames waiting for the model; the slots bound the
 * requests decoding or waiting, so a flood costs neither memory nor decode time.
 *
 * @example
 * app.on('POST', ['/v1/models/*', '/v2/models/*'], createWorkAdmission({ limit: () => 72 }).middleware);
 */
export function createWorkAdmission({ limit }: { limit: () => number }): WorkAdmission {
  let active = 0;
  const full = () =>
    new GpumuxError('QUEUE_FULL', `replica busy: ${active} requests in progress`, { retryAfterSeconds: 1 });
  return {
    active: () => active,
    middleware: async function admitWork(c, next) {
      if (active >= limit()) return refuseUnread(c, full()); // body unread
      let held = false;
      c.set('takeSlot', () => {
        if (held) return;
        if (active >= limit()) throw full();
        active++;
        held = true;
      });
      try {
        await next();
      } finally {
        if (held) active--;
      }
    },
  };
}
