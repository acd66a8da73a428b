import { GPU_ASSIGNMENT_MARKER, REPLICA_EXIT_CODES } from '../../replica/exit-codes.js';
import type { ExistingReplica } from '../types.js';

/**
 * How long a replica may take from launch to ready unless configured otherwise: the local orchestrator's
 * budget, the scheduler's wait before starting the next replica on the same GPU, the Helm chart's startup
 * probe (`replica.warmupBudgetSeconds`). Co-DETR on a CPU needs ~30 s to load and ~74 s per frame of warm-up
 * (4 buckets at batch 1: ~5.5 min; at batch 2 about twice that); on a GPU it takes well under a minute.
 */
export const DEFAULT_WARMUP_BUDGET_MS = 15 * 60_000;

/** Where a replica is in its life, as its orchestrator sees it. */
export type ReplicaPhase = 'pending' | 'starting' | 'ready' | 'draining' | 'failed';

export interface ReplicaFailure {
  /**
   * `oom`: CUDA (or host) out of memory; `crash`: any other death; `warmup-budget`: stopped by its orchestrator
   * for not being ready within its warm-up budget (not counted against the GPU); `gpu-assignment`: the
   * container did not see exactly the GPU it was pinned to (exit REPLICA_EXIT_CODES.gpuAssignment): the node's
   * runtime ignores the pinning, so nothing should be placed on that node (scheduler/inventory/refused-nodes.ts).
   */
  kind: 'oom' | 'crash' | 'warmup-budget' | 'gpu-assignment';
  message: string;
  exitCode: number | null;
}

/** A replica an orchestrator runs (or tries to). */
export interface ManagedReplica extends ExistingReplica {
  /** `http://host:port` once known. */
  url: string | null;
  /** The replica's gRPC `host:port`, when it serves one (local replicas started with `--grpc-port`). */
  grpcAddress?: string | null;
  phase: ReplicaPhase;
  /** GPU product the replica runs on (profiles are per product). */
  product: string;
  /** Epoch ms when it was created (or last restarted). */
  startedAt: number;
  restarts: number;
  lastFailure: ReplicaFailure | null;
}

/** What the scheduler asks an orchestrator to start. */
export interface ReplicaRequest {
  model: string;
  version: string;
  node: string;
  gpuIndex: number;
  product: string;
  footprintBytes: number;
  /** Manifest folder (inside the image on Kubernetes; on disk locally). */
  manifest: string;
  onnx?: string;
  /**
   * Tell the replica its version (`--model-version <version>`) rather than let it read the manifest's, and
   * put the version in its name: set for a version the configuration names, and whenever versions of one
   * model run side by side (the gateway learns each replica's version from its /v1/stats).
   */
  pinVersion?: boolean;
  /** `--max-batch` for the replica (its footprint is this batch's peak); absent: the manifest's. */
  maxBatch?: number;
  /** GPU memory capacity (virtual GPUs need it on the replica's command line). */
  gpuMemoryBytes: number;
  virtual?: boolean;
}

export type OrchestratorEvent =
  { type: 'changed' } | { type: 'failed'; replica: ManagedReplica; failure: ReplicaFailure };

/** Kubernetes pods or local child processes, behind one interface. */
export interface Orchestrator {
  readonly kind: 'kubernetes' | 'local';
  /** Starts watching what runs (and adopts what already runs). */
  start(): Promise<void>;
  replicas(): ManagedReplica[];
  create(request: ReplicaRequest): Promise<ManagedReplica>;
  /** Marks it draining (no new work), POST /v1/drain, waits until its in-flight is 0 or the timeout. */
  drain(id: string, timeoutMs: number): Promise<void>;
  remove(id: string): Promise<void>;
  on(listener: (event: OrchestratorEvent) => void): () => void;
  stop(): Promise<void>;
}

const OOM_PATTERNS = [
  /out of memory/i,
  /CUDA_ERROR_OUT_OF_MEMORY/,
  /cudaErrorMemoryAllocation/,
  /Failed to allocate memory/i,
  /\bOOMKilled\b/,
  /CUBLAS_STATUS_ALLOC_FAILED/,
  /bad_alloc/,
];

/**
 * Classifies a death from what it left behind (exit log tail, termination message/reason) and its exit code:
 * a replica exits with REPLICA_EXIT_CODES.cudaOutOfMemory after a CUDA OOM even when no text survived.
 */
export function classifyFailure(text: string, exitCode: number | null): ReplicaFailure {
  const message = text.trim().split('\n').slice(-3).join(' | ').slice(0, 500) || `exit code ${exitCode}`;
  if (exitCode === REPLICA_EXIT_CODES.gpuAssignment || text.includes(GPU_ASSIGNMENT_MARKER))
    return { kind: 'gpu-assignment', message, exitCode };
  const oom = exitCode === REPLICA_EXIT_CODES.cudaOutOfMemory || OOM_PATTERNS.some((p) => p.test(text));
  return { kind: oom ? 'oom' : 'crash', message, exitCode };
}
