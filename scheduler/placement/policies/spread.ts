import type { PlacementPolicy } from './types.js';
import { fewerCopies, fullnessAfter } from './types.js';

/** The emptiest GPU (and fewer copies of the same model). Surplus leaves the fullest GPUs first. */
export const spreadPolicy: PlacementPolicy = {
  name: 'spread',
  score: (usage, footprintBytes, model) => [
    (1 - fullnessAfter(usage, footprintBytes)) * 0.9 + 0.1 * fewerCopies(usage, model),
  ],
  reason: () => 'spread: emptiest GPU that fits',
  surplusOrder: (a, b) => a.bytes - b.bytes,
  wholeModelsFirst: false,
};
