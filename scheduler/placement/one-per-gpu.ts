import { gpuId, type Gpu, type ModelPlan } from '../types.js';
import { planPlacement, type PlacementResult } from './plan.js';
import { footprintFn } from './planning.js';

/**
 * One replica per GPU, every GPU used (largest model first), as the setup this project started from ran one
 * Co-DETR replica per RTX 4090: the "fair comparison" in `gpumux plan` and on the page
 * (PlanView.seedMemoryUtilization).
 */
export function onePerGpu(gpus: Gpu[], models: ModelPlan[], reserveBytes: number): PlacementResult {
  return planPlacement({
    gpus,
    models: models.map((m) => ({ ...m, minReplicas: 0, desiredReplicas: Infinity })),
    policy: 'spread',
    reserveBytes,
    maxReplicasPerGpu: 1,
  });
}

/**
 * The memory utilisation of `onePerGpu`, for the control loop: it depends only on the GPUs, each model's
 * footprint on each GPU and the reserve, which rarely change between passes, so it is planned again only when
 * one of them does — not a second whole-cluster plan every pass.
 */
export function onePerGpuUtilization(): (gpus: Gpu[], models: ModelPlan[], reserveBytes: number) => number {
  let last: { key: string; value: number } | null = null;
  return (gpus, models, reserveBytes) => {
    const key = JSON.stringify([
      reserveBytes,
      gpus.map((g) => [gpuId(g), g.memoryBytes]),
      models.map((m) => [m.name, m.version, gpus.map((g) => footprintFn(m)(g))]),
    ]);
    if (last?.key !== key) last = { key, value: onePerGpu(gpus, models, reserveBytes).memoryUtilization };
    return last.value;
  };
}
