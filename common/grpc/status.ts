import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { GRPC_STATUS, GpumuxError, isErrorCode, type ErrorCode } from '../errors.js';

/**
 * Errors across the gRPC boundary: the status from common/errors.ts's GRPC_STATUS (one table for both
 * protocols), the message as details, and — as trailing metadata — the stable code (`gpumux-code`) and
 * Retry-After (`retry-after`, seconds) on back-pressure, so a gRPC client learns what a REST client learns.
 */
export function toServiceError(err: GpumuxError): Partial<ServiceError> {
  const metadata = new Metadata();
  metadata.set('gpumux-code', err.code);
  if (err.retryAfterSeconds !== undefined)
    metadata.set('retry-after', String(Math.max(1, Math.ceil(err.retryAfterSeconds))));
  return { code: GRPC_STATUS[err.code], details: err.message, metadata };
}

/** An error code for an HTTP status that came without one of ours (a proxy's HTML 502, say). */
function codeForStatus(status: number): ErrorCode {
  if (status === 404) return 'NOT_FOUND';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 429) return 'OVERLOADED';
  if (status === 503) return 'NOT_READY';
  if (status === 504) return 'DEADLINE_EXCEEDED';
  if (status >= 500) return 'UPSTREAM_FAILED';
  return 'BAD_REQUEST';
}

/** A v2 REST error answer (`{ error, code }`, Retry-After) back into the GpumuxError it was made from. */
export function fromRestError(status: number, body: Buffer, retryAfter: string | undefined): GpumuxError {
  let message = `HTTP ${status}`;
  let code: ErrorCode = codeForStatus(status);
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: unknown; code?: unknown };
    if (typeof parsed.error === 'string') message = parsed.error;
    if (isErrorCode(parsed.code)) code = parsed.code;
  } catch {
    // not JSON: keep the status's code
  }
  const seconds = retryAfter === undefined ? NaN : Number(retryAfter);
  return new GpumuxError(code, message, Number.isFinite(seconds) ? { retryAfterSeconds: seconds } : {});
}
