/**
 * Exit codes of `gpumux replica` (docs/contracts.md §1), read by the orchestrators to classify a death.
 * 0: drained after SIGTERM; 1: failed to start or a second signal; 3: CUDA out of memory; 4: the model needs
 * more than its memory budget (`--memory-budget`, replica/engine/memory-budget.ts); 5: the container does not
 * see exactly the GPU it was given (the node's runtime ignored the pinning: telemetry/gpu-assignment.ts).
 */
export const REPLICA_EXIT_CODES = {
  ok: 0,
  failed: 1,
  /** ONNX Runtime's CUDA provider ran out of GPU memory (while loading, warming up or serving). */
  cudaOutOfMemory: 3,
  /** ONNX Runtime's budget arena refused an allocation: the model needs more than the scheduler planned. */
  memoryBudgetExceeded: 4,
  /** The container sees another GPU, several or none than the UUID it was given (GPUMUX_GPU_UUID). */
  gpuAssignment: 5,
} as const;

/** The text the replica logs and writes to /dev/termination-log when it refuses its GPU assignment. */
export const GPU_ASSIGNMENT_MARKER = 'GPU assignment refused';

/** The text the replica logs and writes to /dev/termination-log when it dies of CUDA OOM. */
export const CUDA_OOM_MARKER = 'CUDA out of memory';

/** The text a replica logs and writes to /dev/termination-log when its model needs more than its budget. */
export const MEMORY_BUDGET_MARKER = 'memory budget exceeded';

/** `needs at least N bytes` back from a budget failure's text (a termination message, a log tail); else null. */
export function neededBytesFrom(text: string): number | null {
  if (!text.includes(MEMORY_BUDGET_MARKER)) return null;
  const match = /needs at least (\d+) bytes/.exec(text);
  return match ? Number(match[1]) : null;
}
