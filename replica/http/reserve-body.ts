import type { MiddlewareHandler } from 'hono';
import { GpumuxError } from '../../common/errors.js';
import { formatBytes } from '../../common/bytes.js';
import type { BodyBudget } from '../../common/http/body-budget.js';
import { refuseUnread } from '../../common/http/hono-errors.js';
import type { ReplicaEnv } from './env.js';

/**
 * Reserves a work request's body in the process-wide budget before the body is read, and gives it back when
 * the request is answered: its Content-Length, or without one `unknownLengthBytes` (the largest body it may
 * send). A request that does not fit is answered 429 OVERLOADED + Retry-After at once, body unread, so a
 * flood of large uploads costs neither memory nor time.
 *
 * @example
 * app.on('POST', ['/v1/models/*', '/v2/models/*'], reserveBody(createBodyBudget(64 << 20), 16 << 20));
 */
export function reserveBody(budget: BodyBudget, unknownLengthBytes: number): MiddlewareHandler<ReplicaEnv> {
  return async function reserveBodyMiddleware(c, next) {
    const declared = Number(c.req.header('content-length') ?? NaN);
    const bytes = Number.isSafeInteger(declared) && declared >= 0 ? declared : unknownLengthBytes;
    if (!budget.take(bytes)) {
      const err = new GpumuxError(
        'OVERLOADED',
        `replica busy: request bodies in progress hold ${formatBytes(budget.held())} of its ${formatBytes(budget.limit)} budget`,
        { retryAfterSeconds: 1 },
      );
      return refuseUnread(c, err); // body unread
    }
    try {
      await next();
    } finally {
      budget.give(bytes);
    }
  };
}
