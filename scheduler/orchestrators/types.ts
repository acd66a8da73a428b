import { GPU_ASSIGNMENT_MARKER, neededBytesFrom, REPLICA_EXIT_CODES } from '../../replica/exit-codes.js';
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
   * `oom`: CUDA out of memory (the model's GPU footprint was too small); `host-oom`: killed by the kernel's OOM
   * killer for going over the container's memory limit (exit 137, reason OOMKilled: the limit is too small, not
   * the GPU footprint); `crash`: any other death; `warmup-budget`: stopped by its orchestrator for not being
   * ready within its warm-up budget (not counted against the GPU); `not-started`: never got as far as running
   * (unschedulable, image pull, container config, the model-fetch init container): the node or the spec, not
   * the GPU; `gpu-assignment`: the container did not see exactly the GPU it was pinned to (exit
   * REPLICA_EXIT_CODES.gpuAssignment): the node's runtime ignores the pinning, so nothing should be placed on that
   * node (scheduler/inventory/refused-nodes.ts).
   */
  kind: 'oom' | 'host-oom' | 'crash' | 'warmup-budget' | 'not-started' | 'gpu-assignment';
  message: string;
  exitCode: number | null;
  /** What the model was found to need at least (its memory budget's arena refused more), bytes. */
  neededBytes?: number;
  /** `not-started`: the stage it failed in (`fetch`: the init container; `schedule`: refused by the node). */
  stage?: StartupStage;
}

/** The steps between creating a replica and its being ready, each with its own bounded wait. */
export type StartupStage = 'schedule' | 'pull' | 'fetch' | 'warm-up';

/** Where a replica that is not ready yet stands, as its orchestrator sees it. */
export interface StartupState {
  stage: StartupStage;
  /** Epoch ms the stage began, as far as the orchestrator knows (container start for `warm-up`). */
  since: number;
  /** The kubelet's or scheduler's reason while it is stuck (`ImagePullBackOff`, `Unschedulable`…), else null. */
  reason: string | null;
  message?: string;
}

/** A replica an orchestrator runs (or tries to). */
export interface ManagedReplica extends ExistingReplica {
  /** `http://host:port` once known. */
  url: string | null;
  /** The replica's gRPC `host:port`, when it serves one (local replicas started with `--grpc-port`). */
  grpcAddress?: string | null;
  phase: ReplicaPhase;
  /**
   * GPU product the replica runs on (profiles are per product): the orchestrator reads it from the inventory
   * (its `productOf`), not from the request.
   */
  product: string;
  /** Epoch ms when it was created (or last restarted). */
  startedAt: number;
  restarts: number;
  lastFailure: ReplicaFailure | null;
  /** Pending or starting: the stage it is in (absent where the orchestrator does not tell stages apart). */
  startup?: StartupState | null;
  /**
   * The spec hash it was created with (ReplicaRequest.specHash); '' when it carries none (created by an older
   * scheduler: outdated); absent where the orchestrator does not keep one.
   */
  specHash?: string;
}

/** What the scheduler asks an orchestrator to start. */
export interface ReplicaRequest {
  model: string;
  version: string;
  node: string;
  gpuIndex: number;
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
  /** What defines this replica, hashed (rollout.ts): a replica whose hash differs from today's is rolled. */
  specHash?: string;
}

export type OrchestratorEvent =
  { type: 'changed' } | { type: 'failed'; replica: ManagedReplica; failure: ReplicaFailure };

/** Kubernetes pods or local child processes, behind one interface. */
export interface Orchestrator {
  readonly kind: 'kubernetes' | 'local';
  /**
   * What defines every replica it starts besides the request (the pod template; the local launch flags and
   * env): part of each replica's spec hash, so a change to it rolls the replicas.
   */
  runtimeSpec?(): unknown;
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

/** What a CUDA out-of-memory death leaves in its log or termination message. */
const OOM_PATTERNS = [
  /out of memory/i,
  /CUDA_ERROR_OUT_OF_MEMORY/,
  /cudaErrorMemoryAllocation/,
  /Failed to allocate memory/i,
  /CUBLAS_STATUS_ALLOC_FAILED/,
  /bad_alloc/,
];

/** The chart value that bounds a replica's host memory: named wherever a host OOM kill is reported. */
export const HOST_MEMORY_SETTING = 'replica.resources.limits.memory';

/**
 * Classifies a death from what it left behind (exit log tail, termination message) and its exit code:
 * a replica exits with REPLICA_EXIT_CODES.cudaOutOfMemory after a CUDA OOM even when no text survived.
 * `reason` is the container runtime's termination reason: `OOMKilled` (the kernel killed the container for
 * its memory cgroup, exit 137) is host memory, never the GPU's — whatever the log said before.
 */
export function classifyFailure(text: string, exitCode: number | null, reason?: string): ReplicaFailure {
  const tail = text.trim().split('\n').slice(-3).join(' | ').slice(0, 500);
  if (reason === 'OOMKilled')
    return {
      kind: 'host-oom',
      message: `OOMKilled (exit ${exitCode ?? 137}): over the container's memory limit, raise ${HOST_MEMORY_SETTING}${tail ? `; ${tail}` : ''}`,
      exitCode,
    };
  if (exitCode === REPLICA_EXIT_CODES.gpuAssignment || text.includes(GPU_ASSIGNMENT_MARKER))
    return { kind: 'gpu-assignment', message: tail || `exit code ${exitCode}`, exitCode };
  // a budget refusal is a footprint fact too: the model needs more than was planned (exit 4, "needs at least N")
  const needed = neededBytesFrom(text);
  const oom =
    exitCode === REPLICA_EXIT_CODES.cudaOutOfMemory ||
    exitCode === REPLICA_EXIT_CODES.memoryBudgetExceeded ||
    needed !== null ||
    OOM_PATTERNS.some((p) => p.test(text));
  return {
    kind: oom ? 'oom' : 'crash',
    message: tail || `exit code ${exitCode}`,
    exitCode,
    ...(needed !== null ? { neededBytes: needed } : {}),
  };
}
