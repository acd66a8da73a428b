import {
  status as grpcStatus,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';

/**
 * `grpc.health.v1.Health` for Kubernetes' gRPC probes (and grpc_health_probe). Service names:
 * `""` and `liveness` — the process serves (a liveness probe); `readiness` and
 * `inference.GRPCInferenceService` — it takes inference traffic now (a readiness probe). Others: NOT_FOUND
 * (Check) or SERVICE_UNKNOWN (Watch), as the protocol says.
 */
export interface HealthServiceOptions {
  live: () => Promise<boolean>;
  ready: () => Promise<boolean>;
  /** How often Watch re-checks. Default 1 s. */
  watchIntervalMs?: number;
}

type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export function healthService({
  live,
  ready,
  watchIntervalMs = 1000,
}: HealthServiceOptions): UntypedServiceImplementation {
  const checks: Record<string, () => Promise<boolean>> = {
    '': live,
    liveness: live,
    readiness: ready,
    'inference.GRPCInferenceService': ready,
  };
  const statusOf = async (service: string): Promise<ServingStatus> => {
    const check = Object.hasOwn(checks, service) ? checks[service] : undefined;
    if (!check) return 'SERVICE_UNKNOWN';
    return (await check().catch(() => false)) ? 'SERVING' : 'NOT_SERVING';
  };
  return {
    Check(call: ServerUnaryCall<{ service: string }, unknown>, callback: sendUnaryData<unknown>) {
      void statusOf(call.request.service).then((status) => {
        if (status === 'SERVICE_UNKNOWN')
          callback({ code: grpcStatus.NOT_FOUND, details: `unknown service "${call.request.service}"` });
        else callback(null, { status });
      });
    },
    Watch(call: ServerWritableStream<{ service: string }, unknown>) {
      let last: ServingStatus | undefined;
      let stopped = false;
      const tick = async (): Promise<void> => {
        const status = await statusOf(call.request.service);
        if (stopped) return;
        if (status !== last) call.write({ status });
        last = status;
        timer = setTimeout(() => void tick(), watchIntervalMs);
      };
      let timer: NodeJS.Timeout | undefined;
      call.once('cancelled', () => {
        stopped = true;
        clearTimeout(timer);
      });
      void tick();
    },
  };
}
