import type { Hono } from 'hono';
import { healthService } from '../../common/grpc/health-service.js';
import { inferenceService } from '../../common/grpc/inference-service.js';
import { startGrpcServer, type RunningGrpcServer } from '../../common/grpc/server.js';
import type { Inventory } from '../inventory/inventory.js';
import type { BodyBudget } from '../../common/http/body-budget.js';
import type { ForwardObserver, Forwarder } from '../proxy/forward.js';
import { gatewayCall } from './gateway-call.js';
import type { ChooseVersion } from '../routing/version-split.js';

export interface GatewayGrpcOptions {
  port: number;
  host: string;
  /** The client port's own routes (readiness, stats, repository index). */
  app: Pick<Hono, 'request'>;
  forwarder: Pick<Forwarder, 'exchange'>;
  inventory: Pick<Inventory, 'byModel'>;
  /** The REST path's metrics and sliding window (`done` per inference call, as REST records it). */
  observer: Pick<ForwardObserver, 'done'>;
  authorize?: ((authorization: string | undefined) => boolean) | undefined;
  /** The REST default deadline (`timeout`), for calls without a gRPC deadline. */
  defaultTimeoutMs: number;
  /** The REST body limit: the largest gRPC message taken. */
  maxMessageBytes: number;
  chooseVersion?: ChooseVersion | undefined;
  /** The REST path's held-body budget: gRPC messages count in it alike. */
  bodyBudget?: BodyBudget | undefined;
}

/** RPCs that REST counts as proxied requests (the gateway's request metrics and window). */
const OBSERVED = new Set(['ModelInfer', 'ModelMetadata', 'ModelConfig']);

/**
 * The gateway's KServe v2 gRPC endpoint and gRPC health service on their own port: the same auth, deadline,
 * routing, retries, limits and metrics as the REST client port, since each RPC is that REST request.
 */
export function startGatewayGrpc(options: GatewayGrpcOptions): Promise<RunningGrpcServer> {
  const { app, inventory, observer } = options;
  const ok = (path: string) => async () => (await app.request(path)).status === 200;
  return startGrpcServer({
    port: options.port,
    host: options.host,
    maxMessageBytes: options.maxMessageBytes,
    inference: inferenceService({
      call: gatewayCall({
        app,
        forwarder: options.forwarder,
        chooseVersion: options.chooseVersion,
        bodyBudget: options.bodyBudget,
      }),
      authorize: options.authorize,
      defaultTimeoutMs: options.defaultTimeoutMs,
      observe({ rpc, model, status, seconds }) {
        if (!OBSERVED.has(rpc) || model === null) return;
        // Unknown model names stay out of metric labels, as on REST.
        observer.done(inventory.byModel(model).length > 0 ? model : '_unknown', status, seconds);
      },
    }),
    health: healthService({ live: ok('/v2/health/live'), ready: ok('/v2/health/ready') }),
  });
}
