import type { Hono } from 'hono';
import type { RestCall } from '../../common/grpc/rest-call.js';

/**
 * A REST call answered by the replica's own Hono app in-process: the gRPC request takes the REST request's
 * whole path — admission, body limit, validation, the engine, request tracking (so drain waits for it and
 * /metrics counts it) and the error mapping.
 */
export function appCall(app: Pick<Hono, 'request'>): RestCall {
  return async ({ method, path, headers, body, signal }) => {
    // The message's length as its Content-Length: the body budget reserves what the message holds, as it does
    // for a REST body (without one it would reserve the largest body a request may send).
    const sized = body ? { ...headers, 'content-length': String(body.byteLength) } : headers;
    const res = await app.request(path, { method, headers: sized, body: body ?? null, signal });
    const bytes = Buffer.from(await res.arrayBuffer());
    return { status: res.status, header: (name) => res.headers.get(name) ?? undefined, body: bytes };
  };
}
