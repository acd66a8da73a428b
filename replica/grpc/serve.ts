import type { Hono } from 'hono';
import { healthService } from '../../common/grpc/health-service.js';
import { inferenceService } from '../../common/grpc/inference-service.js';
import { startGrpcServer, type RunningGrpcServer } from '../../common/grpc/server.js';
import { appCall } from './app-call.js';

export interface ReplicaGrpcOptions {
  /** The replica's REST app (replica/http/app.ts). */
  app: Pick<Hono, 'request'>;
  port: number;
  host: string;
  /** The v2 infer body limit (inferBodyLimit): the largest gRPC message taken. */
  maxMessageBytes: number;
}

/**
 * The replica's KServe v2 gRPC endpoint and gRPC health service on their own port. No auth and no default
 * deadline, as the replica's REST API (the gateway in front does both).
 */
export function startReplicaGrpc({
  app,
  port,
  host,
  maxMessageBytes,
}: ReplicaGrpcOptions): Promise<RunningGrpcServer> {
  const call = appCall(app);
  const ok = (path: string) => async () => (await app.request(path)).status === 200;
  return startGrpcServer({
    port,
    host,
    maxMessageBytes,
    inference: inferenceService({ call }),
    health: healthService({ live: ok('/v2/health/live'), ready: ok('/v2/health/ready') }),
  });
}
