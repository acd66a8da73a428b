import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import type { UploadLimits } from './read-body.js';

export interface HttpLimits extends UploadLimits {
  /** Longest wait for a request's headers (Node answers 408). Default 10 s. */
  headersTimeoutMs?: number;
  /** Longest time to receive a whole request, body included (Node answers 408). Default 120 s. */
  requestTimeoutMs?: number;
  /** Bytes of request bodies held at once (common/http/body-budget.ts). Default: defaultBodyBudget(). */
  bodyBudgetBytes?: number;
}

export const DEFAULT_HTTP_LIMITS = { headersTimeoutMs: 10_000, requestTimeoutMs: 120_000 } as const;

/** The replica's HTTP server (not yet listening), with Node's header/request timeouts from `limits`. */
export function createHttpServer(
  fetch: Parameters<typeof createAdaptorServer>[0]['fetch'],
  host: string,
  limits: HttpLimits,
): Server {
  const {
    headersTimeoutMs = DEFAULT_HTTP_LIMITS.headersTimeoutMs,
    requestTimeoutMs = DEFAULT_HTTP_LIMITS.requestTimeoutMs,
  } = limits;
  return createAdaptorServer({
    fetch,
    hostname: host,
    serverOptions: {
      // longer than any client's idle timeout (undici's is 4 s, the gateway's pool the same), so the client
      // closes an idle connection first: with Node's 5 s default, a request sent as the replica closed the
      // socket failed with "other side closed" (seen in CI under load)
      keepAliveTimeout: 65_000,
      headersTimeout: headersTimeoutMs,
      requestTimeout: Math.max(requestTimeoutMs, headersTimeoutMs),
      // how often Node checks those two; its default (30 s) would make a 10 s header timeout up to 40 s
      connectionsCheckingInterval: Math.max(50, Math.min(1000, headersTimeoutMs / 4)),
    },
  }) as Server;
}
