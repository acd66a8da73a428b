import type { GpumuxError } from './errors.js';

/**
 * Rules about back-pressure that the replica and the gateway must apply alike (they had drifted: the gateway
 * failed a multi-frame request on 429/503/504/499, the replica on 429/503; not-ready said 1 s or 2 s).
 */

/** Retry-After (seconds) when something is not ready yet or is draining (NOT_READY, DRAINING, NO_REPLICA). */
export const NOT_READY_RETRY_AFTER_SECONDS = 1;

/**
 * Shared by every frame, these make the whole request's answer: back-pressure (429, 503: retry all of it
 * later), the request's own deadline (504) or its client gone (499).
 */
const WHOLE_REQUEST_STATUSES: ReadonlySet<number> = new Set([429, 503, 504, 499]);

/**
 * The error that answers a whole multi-frame request: when every frame failed with the same code and that
 * code's status is back-pressure, deadline or client-gone. Otherwise null — each frame answers for itself.
 *
 * @example
 * const shared = sharedFrameFailure(errors); // as common/http/multipart-answer.ts does
 * if (shared) throw shared;
 */
export function sharedFrameFailure(errors: readonly (GpumuxError | null)[]): GpumuxError | null {
  const first = errors[0];
  if (!first || !WHOLE_REQUEST_STATUSES.has(first.status)) return null;
  return errors.every((e) => e?.code === first.code) ? first : null;
}
