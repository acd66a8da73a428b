import type { Filter } from '../types.js';

/** Reachable at the last poll and reporting ready. */
export const readyFilter: Filter = {
  name: 'ready',
  filter(candidates) {
    return candidates.filter((c) => c.measurement.reachable && c.measurement.stats?.ready === true);
  },
};
