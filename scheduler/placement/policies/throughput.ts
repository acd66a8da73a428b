import type { PlacementPolicy } from './types.js';
import { fewerCopies, fullnessAfter } from './types.js';

/**
 * The default: the replica's marginal throughput. Replicas on one GPU time-slice its compute, so a replica adds
 * most on an idle GPU, then on the GPU whose replicas leave it most idle (measured busy share where known, else
 * one per replica); then fewer copies of the same model (failover); then the fuller GPU (keeps big holes for big
 * models). Surplus leaves the GPU with the most replicas sharing its compute (the replica that adds least), then
 * the fullest.
 */
export const throughputPolicy: PlacementPolicy = {
  name: 'throughput',
  score: (usage, footprintBytes, model) => [
    1 / (1 + usage.busy),
    fewerCopies(usage, model),
    fullnessAfter(usage, footprintBytes),
  ],
  reason: (usage) =>
    usage.replicas === 0 && usage.busy === 0
      ? 'idle GPU'
      : `least busy GPU that fits (${usage.busy.toFixed(2)} GPU busy before)`,
  surplusOrder: (a, b) => a.replicas - b.replicas || a.bytes - b.bytes,
  wholeModelsFirst: true,
};
