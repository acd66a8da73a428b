import type { Scorer } from '../types.js';
import { minMaxNormalize } from './normalize.js';

/** More free GPU memory (headroom) is better: keeps load away from GPUs near their memory limit. */
export const headroomScorer: Scorer = {
  name: 'headroom',
  score(candidates, ctx) {
    return minMaxNormalize(
      candidates.map((c) => ctx.gpuOf(c)?.headroomBytes ?? 0),
      false,
    );
  },
};
