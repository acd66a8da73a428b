import type { ServerResponse } from 'node:http';
import {
  errorHeaders,
  toGpumuxError,
  v1ErrorBody,
  v2ErrorBody,
  type GpumuxError,
} from '../../common/errors.js';

/** Writes an error in the API's own shape (/v1: `{error:{code,message}}`, /v2: `{error, code}`). */
export function writeError(
  res: ServerResponse,
  err: unknown,
  v1: boolean,
  requestId: string,
  extraHeaders?: Record<string, string>,
): GpumuxError {
  const e = toGpumuxError(err);
  if (res.headersSent) {
    res.destroy();
    return e;
  }
  const body = JSON.stringify(v1 ? v1ErrorBody(e) : v2ErrorBody(e));
  res.writeHead(e.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
    ...errorHeaders(e),
    ...extraHeaders,
  });
  res.end(body);
  return e;
}
