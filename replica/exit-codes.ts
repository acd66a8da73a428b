/**
 * Exit codes of `gpumux replica` (docs/contracts.md §1), read by the orchestrators to classify a death.
 * 0: drained after SIGTERM; 1: failed to start or a second signal; 3: CUDA out of memory; 4: the container does
 * not see exactly the GPU it was given (the node's runtime ignored the pinning: telemetry/gpu-assignment.ts).
 */
export const REPLICA_EXIT_CODES = {
  ok: 0,
  failed: 1,
  /** ONNX Runtime's CUDA provider ran out of GPU memory (while loading, warming up or serving). */
  cudaOutOfMemory: 3,
  /** The container sees another GPU, several or none than the UUID it was given (GPUMUX_GPU_UUID). */
  gpuAssignment: 4,
} as const;

/** The text the replica logs and writes to /dev/termination-log when it refuses its GPU assignment. */
export const GPU_ASSIGNMENT_MARKER = 'GPU assignment refused';

/** The text the replica logs and writes to /dev/termination-log when it dies of CUDA OOM. */
export const CUDA_OOM_MARKER = 'CUDA out of memory';
