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
} from '../../common/errors.js';
import type { Logger } from '../../common/log.js';

/**
 * The one place where a failure becomes an HTTP response: the protocol's shape on /v2
 * (`{ error, code }`), ours elsewhere (`{ error: { code, message } }`), status from common/errors.ts and
 * Retry-After on back-pressure.
 */
export function errorResponse(c: Context, err: GpumuxError): Response {
  const body = c.req.path.startsWith('/v2') ? v2ErrorBody(err) : v1ErrorBody(err);
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

/** `app.onError(...)`: logs 5xx with their cause, answers everything in the right shape. */
export function createErrorHandler({ logger }: { logger: Logger }) {
  return function handleError(err: unknown, c: Context): Response {
    const gerr = err instanceof HTTPException ? fromHttpException(err) : toGpumuxError(err);
    if (gerr.status >= 500 && gerr.code !== 'NOT_READY' && gerr.code !== 'DRAINING') {
      logger.error('request failed', {
        method: c.req.method,
        path: c.req.path,
        code: gerr.code,
        err: gerr.cause ?? gerr,
      });
    }
    return errorResponse(c, gerr);
  };
}

/** `app.notFound(...)`: unknown paths answer NOT_FOUND in the path's protocol shape. */
export function notFoundHandler(c: Context): Response {
  return errorResponse(c, new GpumuxError('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`));
}
