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
 * Admits a work request (detect, infer) before its body is read: beyond `limit()` requests at once the
 * replica answers 429 + Retry-After straight away. The engine's queue bounds frames waiting for the model;
 * this bounds the requests still uploading or decoding, so a flood costs neither memory nor decode time.
 *
 * @example
 * app.on('POST', ['/v1/models/*', '/v2/models/*'], createWorkAdmission({ limit: () => 72 }).middleware);
 */
export function createWorkAdmission({ limit }: { limit: () => number }): WorkAdmission {
  let active = 0;
  return {
    active: () => active,
    middleware: async function admitWork(c, next) {
      if (active >= limit()) {
        const err = new GpumuxError('QUEUE_FULL', `replica busy: ${active} requests in progress`, {
          retryAfterSeconds: 1,
        });
        return refuseUnread(c, err); // body unread
      }
      active++;
      try {
        await next();
      } finally {
        active--;
      }
    },
  };
}
