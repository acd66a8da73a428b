import type { MiddlewareHandler } from 'hono';
import { GpumuxError } from '../../common/errors.js';
import { formatBytes } from '../../common/bytes.js';
import type { ReplicaEnv } from './env.js';
import { refuseUnread } from '../../common/http/hono-errors.js';

export interface BodyBudget {
  middleware: MiddlewareHandler<ReplicaEnv>;
  /** Bytes reserved by requests admitted and not yet answered. */
  used(): number;
  readonly capacityBytes: number;
}

/**
 * A process-wide budget for request bodies: each work request reserves its Content-Length (or, without one,
 * `unknownLengthBytes`, the largest body it may send) before its body is read, and gives it back when answered.
 * A request that does not fit is answered 429 OVERLOADED + Retry-After at once, body unread, so a flood of
 * large uploads costs neither memory nor time. One request always fits an empty budget (else a body as large as
 * the limit could never be served).
 *
 * @example
 * app.on('POST', ['/v1/models/*', '/v2/models/*'], createBodyBudget({ capacityBytes: 64 << 20, unknownLengthBytes: 16 << 20 }).middleware);
 */
export function createBodyBudget({
  capacityBytes,
  unknownLengthBytes,
}: {
  capacityBytes: number;
  unknownLengthBytes: number;
}): BodyBudget {
  let used = 0;
  return {
    capacityBytes,
    used: () => used,
    middleware: async function reserveBody(c, next) {
      const declared = Number(c.req.header('content-length') ?? NaN);
      const bytes = Number.isSafeInteger(declared) && declared >= 0 ? declared : unknownLengthBytes;
      if (used > 0 && used + bytes > capacityBytes) {
        const err = new GpumuxError(
          'OVERLOADED',
          `replica busy: request bodies in progress hold ${formatBytes(used)} of its ${formatBytes(capacityBytes)} budget`,
          { retryAfterSeconds: 1 },
        );
        return refuseUnread(c, err); // body unread
      }
      used += bytes;
      try {
        await next();
      } finally {
        used -= bytes;
      }
    },
  };
}
