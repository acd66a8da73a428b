import { outstanding } from '../../inventory/records.js';
import type { Scorer } from '../types.js';
import { minMaxNormalize } from './normalize.js';

/** Fewer outstanding requests on the replica (ours plus others') is better. */
export const outstandingScorer: Scorer = {
  name: 'outstanding',
  score(candidates) {
    return minMaxNormalize(candidates.map(outstanding), true);
  },
};
