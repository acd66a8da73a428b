import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import {
  GpumuxError,
  errorHeaders,
  toGpumuxError,
  v1ErrorBody,
  v2ErrorBody,
  type ErrorCode,
} from '../errors.js';
import type { Logger } from '../log.js';

/**
 * Which error body an app answers with: the KServe v2 protocol's (`{ error, code }`), ours
 * (`{ error: { code, message } }`), or by path (v2 on /v2…, ours elsewhere: the replica serves both).
 */
export type ErrorShape = 'v1' | 'v2' | 'by-path';

/**
 * The one place where a failure becomes a Hono response: the body in `shape`, status from common/errors.ts
 * and Retry-After on back-pressure. (The gateway's raw-Node proxy path writes with gateway/proxy/respond.ts.)
 */
export function errorResponse(c: Context, err: GpumuxError, shape: ErrorShape = 'by-path'): Response {
  const v2 = shape === 'v2' || (shape === 'by-path' && c.req.path.startsWith('/v2'));
  const body = v2 ? v2ErrorBody(err) : v1ErrorBody(err);
  const headers = errorHeaders(err);
  if (err.code === 'PAYLOAD_TOO_LARGE' || err.code === 'REQUEST_TIMEOUT') closeUnread(c, headers);
  return c.json(body, err.status as 400, headers);
}

/**
 * The answer to a request whose body was not read: refused (admission, body budget) or cut off (too large,
 * too slow). The connection cannot carry another request, and once the answer is out the socket is closed —
 * otherwise Node would go on reading and discarding the rest of the body (up to the limit, per request).
 */
export function refuseUnread(c: Context, err: GpumuxError): Response {
  const res = errorResponse(c, err);
  closeUnread(c, {});
  res.headers.set('connection', 'close');
  return res;
}

function closeUnread(c: Context, headers: Record<string, string>): void {
  headers.connection = 'close';
  const env = c.env as Partial<HttpBindings> | undefined; // absent under app.request() in unit tests
  const { incoming, outgoing } = env ?? {};
  if (incoming && outgoing && !incoming.complete)
    outgoing.once('finish', () => incoming.socket.destroySoon());
}

/** Maps hono's own HTTPExceptions (e.g. a malformed multipart body) onto stable codes. */
function fromHttpException(err: HTTPException): GpumuxError {
  const byStatus: Record<number, ErrorCode> = {
    400: 'BAD_REQUEST',
    401: 'UNAUTHORIZED',
    403: 'FORBIDDEN',
    404: 'NOT_FOUND',
    413: 'PAYLOAD_TOO_LARGE',
    415: 'UNSUPPORTED_MEDIA_TYPE',
  };
  const code = byStatus[err.status] ?? 'BAD_REQUEST';
  return new GpumuxError(code, err.message || 'bad request', { cause: err });
}

export interface ErrorHandlerOptions {
  /** Where 5xx failures are logged with their cause (none: not logged). */
  logger?: Logger;
  shape?: ErrorShape;
}

/**
 * `app.onError` and `app.notFound` for an app: 5xx logged with their cause, every failure answered in the
 * app's shape. An HTTPException that carries its own response (bearer-auth's 401/400) is sent as it is.
 *
 * @example
 * const { onError, notFound } = errorHandlers({ shape: 'v1' });
 * app.onError(onError);
 * app.notFound(notFound);
 */
export function errorHandlers({ logger, shape = 'by-path' }: ErrorHandlerOptions = {}) {
  return {
    onError: (err: unknown, c: Context): Response => {
      if (err instanceof HTTPException && err.res) return err.getResponse();
      const gerr = err instanceof HTTPException ? fromHttpException(err) : toGpumuxError(err);
      if (gerr.status >= 500 && gerr.code !== 'NOT_READY' && gerr.code !== 'DRAINING') {
        logger?.error('request failed', {
          method: c.req.method,
          path: c.req.path,
          code: gerr.code,
          err: gerr.cause ?? gerr,
        });
      }
      return errorResponse(c, gerr, shape);
    },
    notFound: (c: Context): Response => {
      const err = new GpumuxError('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`);
      return errorResponse(c, err, shape);
    },
  };
}
