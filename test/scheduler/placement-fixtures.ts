import type { ModelPlan } from '../../scheduler/types.js';

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
