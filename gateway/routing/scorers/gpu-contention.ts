import { othersUtilization } from '../../inventory/gpu-utilization.js';
import { outstanding } from '../../inventory/records.js';
import type { Scorer } from '../types.js';
import { minMaxNormalize } from './normalize.js';

/**
 * Replicas on one GPU share its compute (time slicing): an idle replica on a GPU whose other replicas are busy
 * is worse than an idle replica on an idle GPU. Contention = the *other* replicas on the candidate's GPU with
 * outstanding work now (the gateway's live view) + the compute share they took at the last poll (nvidia-smi's
 * utilisation, or their busy shares on virtual GPUs — gateway/inventory/gpu-utilization.ts).
 */
const score: Scorer['score'] = function gpuContentionScorer(candidates, ctx) {
  return minMaxNormalize(
    candidates.map((c) => {
      const gpu = ctx.gpuOf(c);
      if (!gpu) return 0;
      let busy = 0;
      for (const other of gpu.replicas) if (other !== c && outstanding(other) > 0) busy++;
      return busy + othersUtilization(gpu, c);
    }),
    true,
  );
};

export const gpuContentionScorer: Scorer = { name: 'contention', score };
