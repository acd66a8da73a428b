/**
 * Every error a client can see carries a stable `code`. The HTTP status for each code is decided here and
 * nowhere else, so the replica and the gateway answer the same failure the same way.
 */
import { inspect } from 'node:util';

export const ERROR_STATUS = {
  // 400: the request itself is wrong
  BAD_REQUEST: 400,
  EMPTY_BODY: 400,
  INVALID_JSON: 400,
  INVALID_IMAGE: 400,
  INVALID_TENSOR: 400,
  INVALID_PARAMETER: 400,
  // 401/403
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  // 404
  NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  VERSION_NOT_FOUND: 404,
  // 405
  METHOD_NOT_ALLOWED: 405,
  // 408: the client sent its request too slowly (a replica's or the gateway's minimum upload rate)
  REQUEST_TIMEOUT: 408,
  // 413/415/431
  PAYLOAD_TOO_LARGE: 413,
  IMAGE_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  HEADERS_TOO_LARGE: 431,
  // 429/503: back off and retry
  QUEUE_FULL: 429,
  OVERLOADED: 429,
  /** One client (token, else address) has as many requests outstanding as the gateway allows per client. */
  CLIENT_LIMIT: 429,
  NOT_READY: 503,
  DRAINING: 503,
  NO_REPLICA: 503,
  // 499: the client went away (nginx's convention; never seen by that client)
  CLIENT_CLOSED: 499,
  // 5xx: our side failed
  INTERNAL: 500,
  INFERENCE_FAILED: 500,
  UPSTREAM_FAILED: 502,
  DEADLINE_EXCEEDED: 504,
  NOT_IMPLEMENTED: 501,
  /** The model needs more memory than the replica's budget (it exits; the scheduler raises its footprint). */
  MEMORY_BUDGET_EXCEEDED: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * The gRPC status code for each error code (grpc/grpc doc/statuscodes.md numbers), beside the HTTP one so the
 * two protocols cannot drift: 400s are INVALID_ARGUMENT, 404s NOT_FOUND, back-pressure RESOURCE_EXHAUSTED,
 * 503s UNAVAILABLE (what gRPC clients retry), the deadline DEADLINE_EXCEEDED.
 */
export const GRPC_STATUS = {
  BAD_REQUEST: 3,
  EMPTY_BODY: 3,
  INVALID_JSON: 3,
  INVALID_IMAGE: 3,
  INVALID_TENSOR: 3,
  INVALID_PARAMETER: 3,
  UNAUTHORIZED: 16, // UNAUTHENTICATED
  FORBIDDEN: 7, // PERMISSION_DENIED
  NOT_FOUND: 5,
  MODEL_NOT_FOUND: 5,
  VERSION_NOT_FOUND: 5,
  METHOD_NOT_ALLOWED: 12, // UNIMPLEMENTED
  REQUEST_TIMEOUT: 4, // DEADLINE_EXCEEDED: the upload did not arrive in time
  PAYLOAD_TOO_LARGE: 8, // RESOURCE_EXHAUSTED, as grpc-js answers a message over its limit
  IMAGE_TOO_LARGE: 8,
  UNSUPPORTED_MEDIA_TYPE: 3,
  HEADERS_TOO_LARGE: 8,
  QUEUE_FULL: 8,
  OVERLOADED: 8,
  CLIENT_LIMIT: 8,
  NOT_READY: 14, // UNAVAILABLE
  DRAINING: 14,
  NO_REPLICA: 14,
  CLIENT_CLOSED: 1, // CANCELLED
  INTERNAL: 13,
  INFERENCE_FAILED: 13,
  UPSTREAM_FAILED: 14,
  DEADLINE_EXCEEDED: 4,
  NOT_IMPLEMENTED: 12,
  MEMORY_BUDGET_EXCEEDED: 14, // UNAVAILABLE: another replica may serve it
} as const satisfies Record<ErrorCode, number>;

export interface GpumuxErrorOptions {
  cause?: unknown;
  /** Seconds a client should wait before retrying (429/503). */
  retryAfterSeconds?: number;
  details?: Record<string, unknown>;
}

export class GpumuxError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryAfterSeconds: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: GpumuxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GpumuxError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details;
  }
}

export function statusOf(code: ErrorCode): number {
  return ERROR_STATUS[code];
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

/**
 * Anything thrown, as text: `String()` of an Error or a primitive; any other object inspected, where
 * `String()` would print `[object Object]`.
 */
export function thrownText(value: unknown): string {
  return value instanceof Error || typeof value !== 'object' || value === null
    ? String(value)
    : inspect(value);
}

/** Turns anything thrown into a GpumuxError; unknown failures become INTERNAL without leaking internals. */
export function toGpumuxError(err: unknown): GpumuxError {
  if (err instanceof GpumuxError) return err;
  return new GpumuxError('INTERNAL', 'internal error', { cause: err });
}

/** `{ error: { code, message } }` — the body of every /v1 error. */
export function v1ErrorBody(err: GpumuxError): { error: { code: ErrorCode; message: string } } {
  return { error: { code: err.code, message: err.message } };
}

/**
 * The Open Inference Protocol's error shape is `{ "error": "<message>" }`; `code` stands beside it so
 * Triton/KServe clients still parse it while our own clients get the stable code.
 */
export function v2ErrorBody(err: GpumuxError): { error: string; code: ErrorCode } {
  return { error: err.message, code: err.code };
}

/** Headers that go with an error response (Retry-After for back-pressure). */
export function errorHeaders(err: GpumuxError): Record<string, string> {
  return err.retryAfterSeconds === undefined
    ? {}
    : { 'retry-after': String(Math.max(1, Math.ceil(err.retryAfterSeconds))) };
}
