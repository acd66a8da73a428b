import { credentials, Metadata, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { grpcPackages } from '../../common/grpc/load.js';

/**
 * A real grpc-js client for the tests, from the same protos/ a Triton user would compile: each RPC as a
 * promise; `meta` adds metadata (authorization, timeout), `deadlineMs` sets the call's gRPC deadline.
 */
export interface CallOptions {
  meta?: Record<string, string>;
  deadlineMs?: number;
}

type Unary = (request: object, options?: CallOptions) => Promise<Record<string, unknown>>;

export interface TestClients {
  inference: Record<
    | 'ServerLive'
    | 'ServerReady'
    | 'ModelReady'
    | 'ServerMetadata'
    | 'ModelMetadata'
    | 'ModelInfer'
    | 'ModelConfig'
    | 'ModelStatistics'
    | 'RepositoryIndex',
    Unary
  >;
  health: { Check: Unary };
  close(): void;
}

type ClientCtor = new (
  address: string,
  creds: ReturnType<typeof credentials.createInsecure>,
  options?: object,
) => Client;

function promisify(client: Client, method: string): Unary {
  return (request, options = {}) =>
    new Promise((resolve, reject) => {
      const metadata = new Metadata();
      for (const [k, v] of Object.entries(options.meta ?? {})) metadata.set(k, v);
      const callOptions =
        options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
      const fn = (client as unknown as Record<string, (...args: unknown[]) => void>)[method]!;
      fn.call(
        client,
        request,
        metadata,
        callOptions,
        (err: ServiceError | null, res: Record<string, unknown>) => (err ? reject(err) : resolve(res)),
      );
    });
}

export function grpcClients(address: string): TestClients {
  const pkgs = grpcPackages() as unknown as {
    inference: { GRPCInferenceService: ClientCtor };
    grpc: { health: { v1: { Health: ClientCtor } } };
  };
  const options = { 'grpc.max_receive_message_length': -1 };
  const inference = new pkgs.inference.GRPCInferenceService(address, credentials.createInsecure(), options);
  const health = new pkgs.grpc.health.v1.Health(address, credentials.createInsecure());
  const names = [
    'ServerLive',
    'ServerReady',
    'ModelReady',
    'ServerMetadata',
    'ModelMetadata',
    'ModelInfer',
    'ModelConfig',
    'ModelStatistics',
    'RepositoryIndex',
  ] as const;
  return {
    inference: Object.fromEntries(names.map((n) => [n, promisify(inference, n)])) as TestClients['inference'],
    health: { Check: promisify(health, 'Check') },
    close() {
      inference.close();
      health.close();
    },
  };
}

/** The gRPC status code of a rejected call (undefined if it was not a gRPC error). */
export async function grpcCode(promise: Promise<unknown>): Promise<status | undefined> {
  try {
    await promise;
    return status.OK;
  } catch (err) {
    return (err as Partial<ServiceError>).code;
  }
}
