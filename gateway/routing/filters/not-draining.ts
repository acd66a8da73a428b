import type { Filter } from '../types.js';

/** A draining replica finishes its work but gets nothing new. */
export const notDrainingFilter: Filter = function notDrainingFilter(candidates) {
  return candidates.filter((c) => c.measurement.stats?.state !== 'draining');
};
