import { latencySeconds } from '../../inventory/records.js';
import type { Scorer } from '../types.js';
import { minMaxNormalize } from './normalize.js';

/** Lower EWMA latency is better (the gateway's own measurement, else the replica's reported service time). */
export const latencyScorer: Scorer = {
  name: 'latency',
  score(candidates) {
    return minMaxNormalize(candidates.map(latencySeconds), true);
  },
};
