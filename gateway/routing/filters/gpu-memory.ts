import type { Filter } from '../types.js';

/**
 * Avoids replicas on GPUs whose memory headroom is critical. Soft: when every candidate is on a critical GPU
 * they are all kept — a replica's footprint is fixed after warm-up, so serving is still better than refusing.
 */
export const gpuMemoryFilter: Filter = {
  name: 'gpu-memory',
  filter(candidates, ctx) {
    const ok = candidates.filter((c) => ctx.gpuOf(c)?.critical !== true);
    return ok.length > 0 ? ok : candidates;
  },
};
