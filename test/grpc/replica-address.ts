import type { ReplicaProcess } from '../helpers/replica-process.js';

/** The gRPC `host:port` a replica started with `--grpc-port` announced on its `listening` line. */
export function grpcAddressOf(replica: ReplicaProcess): string {
  const line = replica.logs().find((l) => l.msg === 'listening');
  if (typeof line?.grpc !== 'string') throw new Error('the replica announced no gRPC address');
  return line.grpc;
}
