/**
 * Exit codes of `gpumux replica` (docs/contracts.md §1), read by the orchestrators to classify a death.
 * 0: drained after SIGTERM; 1: failed to start or a second signal; 3: CUDA out of memory.
 */
export const REPLICA_EXIT_CODES = {
  ok: 0,
  failed: 1,
  /** ONNX Runtime's CUDA provider ran out of GPU memory (while loading, warming up or serving). */
  cudaOutOfMemory: 3,
} as const;

/** The text the replica logs and writes to /dev/termination-log when it dies of CUDA OOM. */
export const CUDA_OOM_MARKER = 'CUDA out of memory';
