import { describe, expect, it } from 'vitest';
import { isCudaOutOfMemory } from './cuda-oom.js';
import { FAULT_CUDA_OOM_AFTER_BATCHES, cudaOomFaultFrom } from './fault-injection.js';

describe('cudaOomFaultFrom (test-only)', () => {
  it('is off unless its variable is set', () => {
    expect(cudaOomFaultFrom({})).toBeNull();
    expect(cudaOomFaultFrom({ [FAULT_CUDA_OOM_AFTER_BATCHES]: '' })).toBeNull();
  });

  it('lets N batches run, then throws what the replica recognises as a CUDA OOM', () => {
    const fault = cudaOomFaultFrom({ [FAULT_CUDA_OOM_AFTER_BATCHES]: '2' })!;
    fault.beforeBatch();
    fault.beforeBatch();
    let thrown: unknown;
    try {
      fault.beforeBatch();
    } catch (err) {
      thrown = err;
    }
    expect(isCudaOutOfMemory(thrown)).toBe(true);
  });

  it('refuses a value that is not a whole number', () => {
    expect(() => cudaOomFaultFrom({ [FAULT_CUDA_OOM_AFTER_BATCHES]: 'soon' })).toThrow(
      /GPUMUX_FAULT_CUDA_OOM_AFTER_BATCHES must be a whole number/,
    );
  });
});
