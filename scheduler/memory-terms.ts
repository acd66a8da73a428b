/**
 * What one replica's footprint is made of on a GPU, and the budget ONNX Runtime enforces for it
 * (replica/engine/memory-budget.ts). The footprint the plan counts per replica is
 *
 *   weights + activations at max batch + arena margin   ← inside ONNX Runtime's arena: the replica's budget
 *   + CUDA context and library workspaces               ← outside it: never bounded by ORT, planned here
 *
 * so the budget handed to a replica is its planned footprint less the non-arena overhead, and a model that
 * needs more than was planned fails its warm-up instead of pushing a neighbour over.
 */

const MiB = 2 ** 20;

/**
 * Device memory a CUDA replica holds outside ONNX Runtime's arena, an estimate until the first GPU run
 * (models/codetr/export/gpu_calibrate.sh) measures it: the CUDA context with lazy module loading (~400 MiB:
 * the figure the Co-DETR manifest already takes from the seed's nvidia-smi) plus cuBLAS/cuBLASLt workspaces
 * and cuDNN handle state that the libraries cudaMalloc themselves (~112 MiB). cuDNN convolution workspaces
 * are not here: ONNX Runtime takes them from its arena, inside the budget.
 */
export const CUDA_NON_ARENA_BYTES = 512 * MiB;

/** What a replica's device holds outside ONNX Runtime's arena: nothing on a virtual GPU (the CPU, no CUDA). */
export function nonArenaBytes(options: { virtual?: boolean } = {}): number {
  return options.virtual ? 0 : CUDA_NON_ARENA_BYTES;
}

/** The arena budget for a replica whose planned footprint is `footprintBytes` (virtual GPUs: the CPU, no CUDA). */
export function memoryBudgetFor(footprintBytes: number, options: { virtual?: boolean } = {}): number {
  // a footprint below the overhead is a declaration error; never hand out a budget below 64 MiB
  return Math.max(64 * MiB, Math.floor(footprintBytes - nonArenaBytes(options)));
}

/** One replica's footprint, term by term (bytes), for `gpumux plan --explain`. */
export interface FootprintTerms {
  weightsBytes: number;
  activationsBytes: number;
  arenaMarginBytes: number;
  nonArenaBytes: number;
  /** The sum: what the plan counts per replica. */
  footprintBytes: number;
  /** weights + activations + margin: what ONNX Runtime's arena may hold (`--memory-budget`). */
  budgetBytes: number;
}

/**
 * Splits a footprint into its terms. `weightsBytes` from the manifest (0 when it does not say); `margin` is
 * the share of the arena kept above weights + activations (the scheduler's footprint margin: 0 for a declared
 * figure, which is counted as declared, `footprintMargin` for a measured one).
 */
export function footprintTerms(
  footprintBytes: number,
  options: { weightsBytes?: number; margin?: number; virtual?: boolean } = {},
): FootprintTerms {
  const { weightsBytes = 0, margin = 0, virtual = false } = options;
  const budgetBytes = memoryBudgetFor(footprintBytes, { virtual });
  const need = budgetBytes / (1 + margin);
  const arenaMarginBytes = Math.round(budgetBytes - need);
  return {
    weightsBytes,
    activationsBytes: Math.round(need - weightsBytes),
    arenaMarginBytes,
    nonArenaBytes: nonArenaBytes({ virtual }),
    footprintBytes,
    budgetBytes,
  };
}
