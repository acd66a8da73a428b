import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Hop-by-hop and gateway-only headers: never forwarded upstream. */
const DROP_REQUEST = new Set([
  'host',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'upgrade',
  'expect',
  'trailer',
  'proxy-authorization',
  'proxy-connection',
  'authorization',
  'content-length',
  'x-request-id',
]);

const DROP_RESPONSE = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'trailer',
  'upgrade',
  'proxy-connection',
]);

/** Headers for the upstream request: the client's minus hop-by-hop and credentials, plus id and length. */
export function upstreamHeaders(
  incoming: IncomingHttpHeaders,
  requestId: string,
  contentLength: number | null,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key in incoming) {
    if (DROP_REQUEST.has(key)) continue;
    const value = incoming[key];
    if (value !== undefined) out[key] = value;
  }
  out['x-request-id'] = requestId;
  if (contentLength !== null) out['content-length'] = String(contentLength);
  return out;
}

/** Headers for the client: the replica's minus hop-by-hop, plus the request id. */
export function clientHeaders(
  upstream: Record<string, string | string[] | undefined>,
  requestId: string,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const key in upstream) {
    if (DROP_RESPONSE.has(key)) continue;
    const value = upstream[key];
    if (value !== undefined) out[key] = value;
  }
  out['x-request-id'] = requestId;
  return out;
}

/** The request's id: the client's `x-request-id` when sane, else a fresh one. */
export function newRequestId(header: string | string[] | undefined): string {
  const v = Array.isArray(header) ? header[0] : header;
  // Propagate a sane client id; anything else gets a fresh one (ids end up in logs).
  return v !== undefined && v.length > 0 && v.length <= 128 && /^[\w.:-]+$/.test(v) ? v : randomUUID();
}
