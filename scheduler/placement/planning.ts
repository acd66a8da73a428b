import { compareGpus, gpuId, type Gpu, type ModelPlan, type PlacedReplica } from '../types.js';
import type { FitOptions, GpuUsage } from './fit.js';
import { pickGpu } from './pick.js';
import type { PlacementPolicy } from './policies/types.js';

/** The state one plan builds up, shared by its phases (plan.ts, room.ts). */
export interface Planning {
  policy: PlacementPolicy;
  fit: FitOptions;
  models: ModelPlan[];
  /** Largest footprint first (by each model's largest footprint on any GPU here), then by name. */
  order: ModelPlan[];
  usage: GpuUsage[];
  byId: Map<string, GpuUsage>;
  replicas: PlacedReplica[];
  /** Replicas per model in the plan. */
  have: Map<string, number>;
  /** Measured busy shares not yet attributed to a kept replica: how many replicas each GPU's measurement covers. */
  covered: Map<string, number>;
  /**
   * Compute a replica without a measurement is expected to take, in GPUs: the mean measured share per replica
   * where anything is measured (an idle cluster's new replica is as idle as the others), else 1.
   */
  busyPerReplica: number;
  /** Per model, when its replicas' busy share is measured (ModelPlan.busyPerReplica): used instead. */
  modelBusy: Map<string, number>;
  /** Bytes on each GPU that are on their way out (draining, or replaced by a move's copy). */
  leavingBytes: Map<string, number>;
  /** Why each model's last placement failed, per GPU. */
  rejected: Map<string, { gpu: string; reason: string }[]>;
  /** A model waiting for room, with the GPU kept for it and what it waits for. */
  waiting: Map<string, string>;
}

export const footprintFn = (m: ModelPlan): ((gpu: Gpu) => number) =>
  typeof m.footprintBytes === 'function' ? m.footprintBytes : () => m.footprintBytes as number;

/** What each GPU's replicas keep busy, as measured (0..1) and how many replicas the measurement covers. */
export type MeasuredUtilization = Map<string, { ratio: number; replicas: number }>;

export function createPlanning(
  gpus: Gpu[],
  models: ModelPlan[],
  options: {
    policy: PlacementPolicy;
    fit: FitOptions;
    cordoned: Set<string>;
    utilization: MeasuredUtilization;
  },
): Planning {
  const usage: GpuUsage[] = [...gpus].sort(compareGpus).map((gpu) => ({
    gpu,
    usedBytes: 0,
    replicas: 0,
    byModel: new Map(),
    cordoned: options.cordoned.has(gpuId(gpu)),
    busy: options.utilization.get(gpuId(gpu))?.ratio ?? 0,
    reservedFor: null,
  }));
  // Largest first, by each model's largest footprint on any GPU here: footprints differ per GPU product,
  // so the first GPU alone would misorder models on a mixed cluster.
  const largest = new Map(
    models.map((m) => [m.name, usage.reduce((max, u) => Math.max(max, footprintFn(m)(u.gpu)), 0)]),
  );
  let ratios = 0;
  let measured = 0;
  for (const u of options.utilization.values()) {
    ratios += u.ratio;
    measured += u.replicas;
  }
  return {
    policy: options.policy,
    fit: options.fit,
    models,
    order: [...models].sort(
      (a, b) => largest.get(b.name)! - largest.get(a.name)! || (a.name < b.name ? -1 : 1),
    ),
    usage,
    byId: new Map(usage.map((u) => [gpuId(u.gpu), u])),
    replicas: [],
    have: new Map(),
    covered: new Map([...options.utilization].map(([id, u]) => [id, u.replicas])),
    busyPerReplica: measured > 0 ? ratios / measured : 1,
    modelBusy: new Map(
      models.filter((m) => m.busyPerReplica !== undefined).map((m) => [m.name, m.busyPerReplica!]),
    ),
    leavingBytes: new Map(),
    rejected: new Map(),
    waiting: new Map(),
  };
}

export const targetOf = (m: ModelPlan): number => Math.max(m.minReplicas, m.desiredReplicas);

/** Counts a replica's memory (and compute, unless a measurement already covers it) on its GPU. */
export function count(s: Planning, u: GpuUsage, model: string, bytes: number, measured = false): void {
  u.usedBytes += bytes;
  u.replicas += 1;
  u.byModel.set(model, (u.byModel.get(model) ?? 0) + 1);
  const id = gpuId(u.gpu);
  const covered = s.covered.get(id) ?? 0;
  if (measured && covered > 0) s.covered.set(id, covered - 1);
  else u.busy += busyOf(s, model);
}

/** Compute one replica of `model` is expected to take when nothing measures it, in GPUs. */
export const busyOf = (s: Planning, model: string): number => s.modelBusy.get(model) ?? s.busyPerReplica;

export function uncount(s: Planning, u: GpuUsage, model: string, bytes: number): void {
  u.usedBytes -= bytes;
  u.replicas -= 1;
  u.byModel.set(model, (u.byModel.get(model) ?? 1) - 1);
  u.busy = Math.max(0, u.busy - busyOf(s, model));
}

/** Places one new replica of `model` where the policy says (or records why nowhere). */
export function placeOne(
  s: Planning,
  model: ModelPlan,
  usages: GpuUsage[] = s.usage,
  extra: Partial<PlacedReplica> = {},
): PlacedReplica | null {
  const footprintOf = footprintFn(model);
  const pick = pickGpu(s.policy, usages, footprintOf, model.name, s.fit);
  if (!pick.usage) {
    s.rejected.set(model.name, pick.rejected);
    return null;
  }
  const u = pick.usage;
  const footprint = footprintOf(u.gpu);
  count(s, u, model.name, footprint);
  const placed: PlacedReplica = {
    model: model.name,
    version: model.version,
    node: u.gpu.node,
    gpuIndex: u.gpu.index,
    footprintBytes: footprint,
    existingId: null,
    reason: pick.reason,
    ...extra,
  };
  s.replicas.push(placed);
  s.have.set(model.name, (s.have.get(model.name) ?? 0) + 1);
  return placed;
}
