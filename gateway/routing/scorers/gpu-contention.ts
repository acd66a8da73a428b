import { outstanding } from '../../inventory/records.js';
import type { Scorer } from '../types.js';
import { minMaxNormalize } from './normalize.js';

/**
 * Replicas on one GPU share its compute (time slicing): an idle replica on a GPU whose other replicas are busy
 * is worse than an idle replica on an idle GPU. Counts the *other* busy replicas on the candidate's GPU.
 */
const score: Scorer['score'] = function gpuContentionScorer(candidates, ctx) {
  return minMaxNormalize(
    candidates.map((c) => {
      const gpu = ctx.gpuOf(c);
      if (!gpu) return 0;
      let busy = 0;
      for (const other of gpu.replicas) if (other !== c && outstanding(other) > 0) busy++;
      return busy;
    }),
    true,
  );
};

export const gpuContentionScorer: Scorer = { name: 'contention', score };
