import type { Filter } from '../types.js';

/** A draining replica finishes its work but gets nothing new. */
export const notDrainingFilter: Filter = {
  name: 'not-draining',
  filter(candidates) {
    return candidates.filter((c) => c.measurement.stats?.state !== 'draining');
  },
};
