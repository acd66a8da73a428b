import { describe, expect, it } from 'vitest';
import { REPLICA_EXIT_CODES } from '../replica/exit-codes.js';
import { CUDA_NON_ARENA_BYTES, footprintTerms, memoryBudgetFor } from './memory-terms.js';
import { classifyFailure } from './orchestrators/types.js';

const MiB = 2 ** 20;

describe('memory terms', () => {
  it('the budget is the planned footprint less what CUDA keeps outside the arena (all of it on the CPU)', () => {
    expect(memoryBudgetFor(10834 * MiB)).toBe(10834 * MiB - CUDA_NON_ARENA_BYTES);
    expect(memoryBudgetFor(10834 * MiB, { virtual: true })).toBe(10834 * MiB);
  });

  it('terms add up to the footprint: weights + activations + margin = budget; + non-arena = footprint', () => {
    const t = footprintTerms(11376 * MiB, { weightsBytes: 835 * MiB, margin: 0.05 });
    expect(t.weightsBytes + t.activationsBytes + t.arenaMarginBytes).toBe(t.budgetBytes);
    expect(t.budgetBytes + t.nonArenaBytes).toBe(t.footprintBytes);
  });

  it("a replica's budget refusal (exit 4) is an OOM for the scheduler, carrying what the model needs", () => {
    const text =
      'memory budget exceeded: budget 48 MiB (50331648 bytes); ONNX Runtime asked for 64 MiB (67108864 bytes) ' +
      'with 40 MiB left: the model needs at least 76546048 bytes; model m:1 on cpu, replica r; exiting with code 4';
    const failure = classifyFailure(text, REPLICA_EXIT_CODES.memoryBudgetExceeded);
    expect(failure).toMatchObject({ kind: 'oom', neededBytes: 76546048 });
  });
});
