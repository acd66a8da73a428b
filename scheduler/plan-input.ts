import type { GpuHealth } from './feedback.js';
import type { Observation } from './observation.js';
import type { BatchChoices, ModelSet, SchedulerModel } from './model-set.js';
import type { PlacementInput } from './placement/plan.js';
import type { Policy } from './placement/policy.js';
import type { ProfileStore } from './profiles/store.js';
import { gpuId, type ExistingReplica, type Gpu, type ModelPlan } from './types.js';

/** What the control loop plans with besides the models: fixed for its life, but for the GPUs' health. */
export interface PlanSettings {
  policy: Policy;
  reserveBytes: number;
  maxReplicasPerGpu: number;
  gpuHealth: GpuHealth;
}

/**
 * Every configured model as the planner sees it: its footprint per GPU product (measured, else declared for
 * the max batch its replicas run with), its minimum, and `desiredOf` replicas (default: what demand wants).
 */
export function modelPlans(
  set: ModelSet,
  state: {
    desired: ReadonlyMap<string, number>;
    choices: BatchChoices;
    observed: Observation;
    profiles: ProfileStore;
  },
  desiredOf: (m: SchedulerModel) => number = (m) => state.desired.get(set.labelOf(m))!,
): ModelPlan[] {
  const { choices, observed, profiles } = state;
  return set.models.map((m) => {
    const label = set.labelOf(m);
    const busy = observed.modelBusy.get(label);
    return {
      name: m.name,
      version: m.version,
      footprintBytes: (gpu: Gpu) => profiles.footprint(label, gpu.product, set.declaredBytes(m, choices)),
      minReplicas: m.minReplicas,
      desiredReplicas: desiredOf(m),
      ...(busy !== undefined ? { busyPerReplica: busy } : {}),
    };
  });
}

/**
 * One pass's placement input: these models on these GPUs, with what runs, the cordons and the measured load.
 * No new replica goes to a GPU cordoned for crashes, one on a cordoned or NotReady node, or one on a node
 * avoided after a failed start (`avoidedNodes`).
 */
export function placementInput(
  settings: PlanSettings,
  gpus: Gpu[],
  models: ModelPlan[],
  existing: ExistingReplica[],
  observed: Observation,
  avoidedNodes: readonly string[] = [],
): PlacementInput {
  const { policy, reserveBytes, maxReplicasPerGpu, gpuHealth } = settings;
  const closed = gpus.filter((g) => g.unschedulable || avoidedNodes.includes(g.node)).map(gpuId);
  return {
    gpus,
    models,
    existing,
    policy,
    reserveBytes,
    maxReplicasPerGpu,
    cordoned: [...gpuHealth.cordoned(), ...closed],
    utilization: observed.utilization,
  };
}
