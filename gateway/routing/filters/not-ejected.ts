import { isEjected } from '../../inventory/outlier.js';
import type { Filter } from '../types.js';

/** Outlier ejection: a replica with consecutive failures sits out its backoff and a healthy poll. */
export const notEjectedFilter: Filter = function notEjectedFilter(candidates) {
  return candidates.filter((c) => !isEjected(c));
};
