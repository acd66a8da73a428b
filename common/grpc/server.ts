import { Server, ServerCredentials, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { healthServiceDefinition, inferenceServiceDefinition } from './load.js';
import { refuseMalformed, tolerantDefinition } from './malformed.js';

export interface GrpcServerOptions {
  port: number;
  host: string;
  /** `inference.GRPCInferenceService` handlers (inference-service.ts). */
  inference: UntypedServiceImplementation;
  /** `grpc.health.v1.Health` handlers (health-service.ts). */
  health: UntypedServiceImplementation;
  /** Largest request message, bytes (the REST body limit): larger ones get RESOURCE_EXHAUSTED from grpc-js. */
  maxMessageBytes: number;
}

export interface RunningGrpcServer {
  /** `host:port` as a gRPC client dials it (a wildcard host reported as 127.0.0.1). */
  address: string;
  port: number;
  /**
   * Lets calls in progress finish for up to `graceMs`, then cuts the rest. Resolves true when every call
   * finished in time (tryShutdown's callback), false when some were cut (forceShutdown).
   */
  close(graceMs?: number): Promise<boolean>;
}

function dialHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * One grpc-js server with the inference and health services on its own port (plaintext: TLS ends at the
 * ingress, as for REST).
 */
export async function startGrpcServer({
  port,
  host,
  inference,
  health,
  maxMessageBytes,
}: GrpcServerOptions): Promise<RunningGrpcServer> {
  const server = new Server({
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': -1,
  });
  // a message that is not protobuf is the client's fault: 400's status, not grpc-js's INTERNAL
  for (const [definition, implementation] of [
    [inferenceServiceDefinition(), inference],
    [healthServiceDefinition(), health],
  ] as const)
    server.addService(tolerantDefinition(definition), refuseMalformed(definition, implementation));
  const bind = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(bind, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  let closing: Promise<boolean> | undefined;
  return {
    address: `${dialHost(host)}:${bound}`,
    port: bound,
    close: (graceMs = 5000) =>
      (closing ??= new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve(false);
        }, graceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve(true);
        });
      })),
  };
}
