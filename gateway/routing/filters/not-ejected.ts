import { isEjected } from '../../inventory/outlier-state.js';
import type { Filter } from '../types.js';

/** Outlier ejection: a replica with consecutive failures sits out its backoff and a healthy poll. */
export const notEjectedFilter: Filter = {
  name: 'not-ejected',
  filter(candidates) {
    return candidates.filter((c) => !isEjected(c));
  },
};
