/** A client request the gateway proxies to a replica, as matched from its path. */
export interface ProxyRoute {
  kind: 'infer' | 'detect' | 'metadata';
  method: 'GET' | 'POST';
  model: string;
  version: string | null;
  /** /v1 error shape (else /v2's). */
  v1: boolean;
}

const NAME = '([A-Za-z0-9._-]{1,64})';
const INFER = new RegExp(`^/v2/models/${NAME}(?:/versions/${NAME})?/infer(?:\\?|$)`);
const DETECT = new RegExp(`^/v1/models/${NAME}(?:/versions/${NAME})?/detect(?:\\?|$)`);
const METADATA = new RegExp(`^/v2/models/${NAME}(?:/versions/${NAME})?(?:/config)?(?:\\?|$)`);
/** Triton's statistics: the gateway sums every replica's (gateway/http/model-stats.ts), never proxies one. */
const STATS = /^\/v2\/models\/stats(?:\?|$)/;

/**
 * Matches the proxied routes (inference, model metadata and model configuration). Everything else is the gateway's own (health,
 * readiness, server metadata) or 404. The upstream path is this same path: only these shapes ever leave.
 */
export function matchProxyRoute(method: string | undefined, url: string): ProxyRoute | null {
  if (method === 'POST') {
    let m = INFER.exec(url);
    if (m) return { kind: 'infer', method, model: m[1]!, version: m[2] ?? null, v1: false };
    m = DETECT.exec(url);
    if (m) return { kind: 'detect', method, model: m[1]!, version: m[2] ?? null, v1: true };
    return null;
  }
  if (method === 'GET' && !STATS.test(url)) {
    const m = METADATA.exec(url);
    if (m) return { kind: 'metadata', method, model: m[1]!, version: m[2] ?? null, v1: false };
  }
  return null;
}
