import type { PlacementPolicy } from './types.js';
import { fullnessAfter } from './types.js';

/**
 * The GPU fullest after placing: fills GPUs one by one, leaving whole GPUs free for big models. Surplus
 * leaves the emptiest GPUs first (consolidates).
 */
export const binpackPolicy: PlacementPolicy = {
  name: 'binpack',
  score: (usage, footprintBytes) => [fullnessAfter(usage, footprintBytes)],
  reason: () => 'binpack: fullest GPU that fits',
  surplusOrder: (a, b) => b.bytes - a.bytes,
  wholeModelsFirst: false,
  // Binpack leaves whole GPUs free on purpose (room for a big model); say so, since an operator who asked
  // for fewer replicas than the cluster holds may expect every GPU to be busy.
  idleNote:
    'binpack fills GPUs one by one: ask for more replicas to fill them, or the default policy to use every GPU first',
};
