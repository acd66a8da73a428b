import type { ModelPlan } from '../../scheduler/types.js';
import type { GpuUsage } from '../../scheduler/placement/fit.js';

/** A model as the planner sees it, for placement tests: version 1, a fixed footprint. */
export const model = (
  name: string,
  footprintBytes: number,
  desiredReplicas: number,
  minReplicas = 0,
): ModelPlan => ({
  name,
  version: '1',
  footprintBytes,
  minReplicas,
  desiredReplicas,
});

/** One GPU's planning state for policy tests: `capacityGiB` GiB, `usedGiB` used by `replicas` of `models`. */
export const usageOf = (
  capacityGiB: number,
  usedGiB: number,
  options: { models?: string[]; busy?: number; index?: number } = {},
): GpuUsage => {
  const { models = [], busy = models.length, index = 0 } = options;
  const byModel = new Map<string, number>();
  for (const m of models) byModel.set(m, (byModel.get(m) ?? 0) + 1);
  return {
    gpu: { node: 'n', index, product: 'test', memoryBytes: capacityGiB * 1024 ** 3 },
    usedBytes: usedGiB * 1024 ** 3,
    replicas: models.length,
    byModel,
    cordoned: false,
    busy,
    reservedFor: null,
  };
};
