import type { Hono } from 'hono';
import type { RestCall } from '../../common/grpc/rest-call.js';

/**
 * A REST call answered by the replica's own Hono app in-process: the gRPC request takes the REST request's
 * whole path — admission, body limit, validation, the engine, request tracking (so drain waits for it and
 * /metrics counts it) and the error mapping.
 */
export function appCall(app: Pick<Hono, 'request'>): RestCall {
  return async ({ method, path, headers, body, signal }) => {
    const res = await app.request(path, { method, headers, body: body ?? null, signal });
    const bytes = Buffer.from(await res.arrayBuffer());
    return { status: res.status, header: (name) => res.headers.get(name) ?? undefined, body: bytes };
  };
}
