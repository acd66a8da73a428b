import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type GrpcObject, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';

/**
 * The .proto files under protos/ (the build copies them to dist/protos, so this path holds from the sources
 * and from dist alike), loaded once. Message objects keep the protos' snake_case field names — the same names
 * the REST (JSON) forms of the protocol use — with 64-bit integers as numbers and enums as their names.
 */
export const PROTOS_DIR = fileURLToPath(new URL('../../protos', import.meta.url));

const LOAD_OPTIONS = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTOS_DIR],
};

let loaded: PackageDefinition | undefined;

function definitions(): PackageDefinition {
  loaded ??= loadSync(['inference/grpc_service.proto', 'grpc/health/v1/health.proto'], LOAD_OPTIONS);
  return loaded;
}

/** `inference.GRPCInferenceService`: KServe v2 / Open Inference Protocol, Triton's field numbers. */
export function inferenceServiceDefinition(): ServiceDefinition {
  return definitions()['inference.GRPCInferenceService'] as ServiceDefinition;
}

/** `grpc.health.v1.Health`: the standard health-checking protocol. */
export function healthServiceDefinition(): ServiceDefinition {
  return definitions()['grpc.health.v1.Health'] as ServiceDefinition;
}

/** The loaded packages as grpc-js client constructors (`.inference.GRPCInferenceService`), for clients. */
export function grpcPackages(): GrpcObject {
  return loadPackageDefinition(definitions());
}
