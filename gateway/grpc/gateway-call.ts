import type { Hono } from 'hono';
import { GpumuxError } from '../../common/errors.js';
import type { RestCall } from '../../common/grpc/rest-call.js';
import { matchProxyRoute } from '../http/routes.js';
import { HeldBody } from '../proxy/body.js';
import type { BodyBudget } from '../../common/http/body-budget.js';
import { Cancellation } from '../proxy/cancellation.js';
import type { Forwarder } from '../proxy/forward.js';
import type { ChooseVersion } from '../routing/version-split.js';

export interface GatewayCallOptions {
  /** The gateway's own client routes (health, readiness, stats, repository index). */
  app: Pick<Hono, 'request'>;
  forwarder: Pick<Forwarder, 'exchange'>;
  /** The version an unversioned request goes to (the traffic split), or null to let the router pick. */
  chooseVersion?: ChooseVersion | undefined;
  /** The REST path's held-body budget (`limits.maxHeldBodyBytes`): a message holds it until answered. */
  bodyBudget?: BodyBudget | undefined;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * A REST call as the gateway answers it: a proxied route (infer, model metadata and config) is routed to a
 * replica by the same admission, router and retries as REST (`forwarder.exchange`); anything else is the
 * gateway's own Hono app. The deadline and the client's cancel become the request's Cancellation.
 */
export function gatewayCall({ app, forwarder, chooseVersion, bodyBudget }: GatewayCallOptions): RestCall {
  return async ({ method, path, headers, body, requestId, signal }) => {
    const route = matchProxyRoute(method, path);
    if (!route) {
      const res = await app.request(path, { method, headers, body: body ?? null, signal });
      const bytes = Buffer.from(await res.arrayBuffer());
      return { status: res.status, header: (name) => res.headers.get(name) ?? undefined, body: bytes };
    }
    // Held from here until answered, counted in the budget as a REST body is (429 → RESOURCE_EXHAUSTED).
    const held = body ? HeldBody.of(body, bodyBudget) : HeldBody.empty();
    const cancel = new Cancellation();
    const onAbort = (): void =>
      cancel.cancel(signal.reason instanceof GpumuxError && signal.reason.code === 'DEADLINE_EXCEEDED');
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      const version = chooseVersion ? chooseVersion(route.model, route.version, headers) : route.version;
      const response = await forwarder.exchange({
        model: route.model,
        version,
        requestId,
        cancel,
        path,
        method,
        body: held,
        headers: body ? { ...headers, 'content-length': String(body.byteLength) } : headers,
      });
      const bytes = Buffer.from(await response.body.arrayBuffer());
      return {
        status: response.statusCode,
        header: (name) => firstHeader(response.headers[name]),
        body: bytes,
      };
    } finally {
      signal.removeEventListener('abort', onAbort);
      held.release();
    }
  };
}
