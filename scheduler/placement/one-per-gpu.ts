import type { Gpu, ModelPlan } from '../types.js';
import { planPlacement, type PlacementResult } from './plan.js';

/**
 * The seed's setup on the same GPUs: one replica per GPU, every GPU used (largest model first), as the seed
 * ran one Co-DETR replica per RTX 4090. What "fair comparison" means in `gpumux plan` and on the page.
 */
export function seedSetup(gpus: Gpu[], models: ModelPlan[], reserveBytes: number): PlacementResult {
  return planPlacement({
    gpus,
    models: models.map((m) => ({ ...m, minReplicas: 0, desiredReplicas: Infinity })),
    policy: 'spread',
    reserveBytes,
    maxReplicasPerGpu: 1,
  });
}
