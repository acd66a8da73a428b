/**
 * TEST-ONLY fault injection, so tests can drive the real `gpumux replica` process down paths that need
 * hardware to reach. Never set these in production.
 *
 * - `GPUMUX_FAULT_CUDA_OOM_AFTER_BATCHES=N`: after N batches have run, the next batch fails with ONNX
 *   Runtime's CUDA out-of-memory message, on whatever device the replica runs (the CPU included), so the
 *   replica takes its CUDA-OOM exit: 503 for that batch, state failed, the termination message, exit code 3.
 */
export const FAULT_CUDA_OOM_AFTER_BATCHES = 'GPUMUX_FAULT_CUDA_OOM_AFTER_BATCHES';

/** The message ONNX Runtime's CUDA provider throws when cudaMalloc fails (cuda-oom.ts recognises it). */
const INJECTED_OOM_MESSAGE =
  '[fault injection] onnxruntime::CudaCall CUDA failure 2: out of memory ; GPU=0 ; expr=cudaMalloc(&p, size);';

export interface CudaOomFault {
  /** Throws the injected CUDA OOM once `afterBatches` batches have run; counts this batch otherwise. */
  beforeBatch(): void;
}

/** The fault `env` asks for, or null (the normal case). Throws on a value that is not a whole number ≥ 0. */
export function cudaOomFaultFrom(env: NodeJS.ProcessEnv): CudaOomFault | null {
  const raw = env[FAULT_CUDA_OOM_AFTER_BATCHES];
  if (raw === undefined || raw === '') return null;
  const afterBatches = Number(raw);
  if (!Number.isInteger(afterBatches) || afterBatches < 0)
    throw new Error(`${FAULT_CUDA_OOM_AFTER_BATCHES} must be a whole number ≥ 0, got "${raw}"`);
  let ran = 0;
  return {
    beforeBatch() {
      if (ran >= afterBatches) throw new Error(INJECTED_OOM_MESSAGE);
      ran++;
    },
  };
}
