import {
  compareGpus,
  gpuId,
  type ExistingReplica,
  type Gpu,
  type ModelPlan,
  type PlacedReplica,
} from '../types.js';
import { fits, pickGpu, type GpuUsage, type Policy } from './policy.js';

export interface PlacementInput {
  gpus: Gpu[];
  models: ModelPlan[];
  /** What runs now; kept where still valid so a plan never moves working replicas for nothing. */
  existing?: ExistingReplica[];
  policy?: Policy;
  reserveBytes?: number;
  maxReplicasPerGpu?: number;
  /** GPU ids (`node/index`) that take no new replicas. */
  cordoned?: Iterable<string>;
}

export interface RemovedReplica {
  replica: ExistingReplica;
  reason: string;
}

export interface PlacementResult {
  policy: Policy;
  /** Per GPU, sorted by node then index. */
  usage: GpuUsage[];
  replicas: PlacedReplica[];
  /** Existing replicas the desired state no longer has (drain, then delete). */
  removed: RemovedReplica[];
  /** Replicas wanted but not placeable. `count` is finite only for finite demand. */
  unplaced: { model: string; count: number; reason: string }[];
  /** Σ counted footprints / Σ capacity, after the plan. */
  memoryUtilization: number;
}

const footprintFn = (m: ModelPlan): ((gpu: Gpu) => number) =>
  typeof m.footprintBytes === 'function' ? m.footprintBytes : () => m.footprintBytes as number;

/**
 * Plans the whole cluster (desired state): keeps valid existing replicas, removes surplus ones, then places
 * new ones model by model in rounds (largest footprint first, one replica per model per round, minimums
 * before the rest) so models share scarce memory fairly. Never counts more than a GPU's capacity − reserve.
 *
 * @example
 * planPlacement({ gpus: parseGpuSpec('10x24564MiB'), models: [{ name: 'codetr', version: '1',
 *   footprintBytes: 9830 * 2 ** 20, minReplicas: 1, desiredReplicas: Infinity }] }).memoryUtilization // 0.80
 */
export function planPlacement(input: PlacementInput): PlacementResult {
  const { gpus, models, existing = [], policy = 'binpack', reserveBytes = 0, maxReplicasPerGpu = 0 } = input;
  const cordoned = new Set(input.cordoned ?? []);
  const fitOptions = { reserveBytes, maxReplicasPerGpu };
  const usage: GpuUsage[] = [...gpus].sort(compareGpus).map((gpu) => ({
    gpu,
    usedBytes: 0,
    replicas: 0,
    byModel: new Map(),
    cordoned: cordoned.has(gpuId(gpu)),
  }));
  const byId = new Map(usage.map((u) => [gpuId(u.gpu), u]));
  const modelByName = new Map(models.map((m) => [m.name, m]));
  const replicas: PlacedReplica[] = [];
  const removed: RemovedReplica[] = [];
  const count = (u: GpuUsage, model: string, bytes: number): void => {
    u.usedBytes += bytes;
    u.replicas += 1;
    u.byModel.set(model, (u.byModel.get(model) ?? 0) + 1);
  };

  // 1. What is draining still holds memory until it is gone.
  const sortedExisting = [...existing].sort(
    (a, b) =>
      compareGpus({ node: a.node, index: a.gpuIndex }, { node: b.node, index: b.gpuIndex }) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  for (const r of sortedExisting.filter((r) => r.draining)) {
    const u = byId.get(`${r.node}/${r.gpuIndex}`);
    if (u) count(u, r.model, r.footprintBytes);
  }

  // 2. Keep existing replicas that are still wanted and still fit (a raised footprint may evict some).
  const wantedByModel = new Map<string, ExistingReplica[]>();
  for (const r of sortedExisting.filter((r) => !r.draining)) {
    const model = modelByName.get(r.model);
    const u = byId.get(`${r.node}/${r.gpuIndex}`);
    if (!model) removed.push({ replica: r, reason: 'model no longer configured' });
    else if (!u) removed.push({ replica: r, reason: `GPU ${r.node}/${r.gpuIndex} is gone` });
    else if (r.version !== model.version)
      removed.push({ replica: r, reason: `version ${r.version} replaced by ${model.version}` });
    else {
      const list = wantedByModel.get(r.model);
      if (list) list.push(r);
      else wantedByModel.set(r.model, [r]);
    }
  }
  // Per-GPU load of the candidates decides which surplus replicas go first: binpack drains the emptiest
  // GPUs (consolidates), spread the fullest.
  const candidateLoad = new Map<string, number>();
  for (const list of wantedByModel.values())
    for (const r of list)
      candidateLoad.set(
        `${r.node}/${r.gpuIndex}`,
        (candidateLoad.get(`${r.node}/${r.gpuIndex}`) ?? 0) + r.footprintBytes,
      );
  for (const model of models) {
    const list = wantedByModel.get(model.name) ?? [];
    const load = (r: ExistingReplica): number => candidateLoad.get(`${r.node}/${r.gpuIndex}`) ?? 0;
    list.sort((a, b) => (policy === 'binpack' ? load(b) - load(a) : load(a) - load(b)));
    const footprintOf = footprintFn(model);
    const keep = Math.min(list.length, Math.max(model.minReplicas, model.desiredReplicas));
    list.forEach((r, i) => {
      const u = byId.get(`${r.node}/${r.gpuIndex}`)!;
      const footprint = Math.max(footprintOf(u.gpu), 0);
      if (i >= keep) return removed.push({ replica: r, reason: `scale down to ${keep}` });
      if (u.gpu.memoryBytes - u.usedBytes - reserveBytes < footprint) {
        return removed.push({ replica: r, reason: 'no longer fits its GPU (footprint raised)' });
      }
      count(u, r.model, footprint);
      replicas.push({
        model: r.model,
        version: r.version,
        node: r.node,
        gpuIndex: r.gpuIndex,
        footprintBytes: footprint,
        existingId: r.id,
      });
    });
  }

  // 3. Place new replicas in rounds: minimums first, then up to the desired count.
  const have = new Map<string, number>();
  for (const r of replicas) have.set(r.model, (have.get(r.model) ?? 0) + 1);
  // Largest first, by each model's largest footprint on any GPU here: footprints differ per GPU product,
  // so the first GPU alone would misorder models on a mixed cluster.
  const largestFootprint = new Map(
    models.map((m) => [m.name, usage.reduce((max, u) => Math.max(max, footprintFn(m)(u.gpu)), 0)]),
  );
  const order = [...models].sort(
    (a, b) => largestFootprint.get(b.name)! - largestFootprint.get(a.name)! || (a.name < b.name ? -1 : 1),
  );
  const blocked = new Set<string>();
  for (const phase of ['min', 'desired'] as const) {
    blocked.clear();
    let progress = true;
    while (progress) {
      progress = false;
      for (const model of order) {
        if (blocked.has(model.name)) continue;
        const target =
          phase === 'min' ? model.minReplicas : Math.max(model.minReplicas, model.desiredReplicas);
        if ((have.get(model.name) ?? 0) >= target) continue;
        const footprintOf = footprintFn(model);
        const u = pickGpu(policy, usage, footprintOf, model.name, fitOptions);
        if (!u) {
          blocked.add(model.name);
          continue;
        }
        const footprint = footprintOf(u.gpu);
        count(u, model.name, footprint);
        replicas.push({
          model: model.name,
          version: model.version,
          node: u.gpu.node,
          gpuIndex: u.gpu.index,
          footprintBytes: footprint,
          existingId: null,
        });
        have.set(model.name, (have.get(model.name) ?? 0) + 1);
        progress = true;
      }
    }
  }

  const unplaced: PlacementResult['unplaced'] = [];
  for (const model of models) {
    const target = Math.max(model.minReplicas, model.desiredReplicas);
    const missing = target - (have.get(model.name) ?? 0);
    if (missing > 0 && Number.isFinite(missing)) {
      const anyFits = usage.some(
        (u) => !u.cordoned && u.gpu.memoryBytes - reserveBytes >= footprintFn(model)(u.gpu),
      );
      unplaced.push({
        model: model.name,
        count: missing,
        reason: anyFits ? 'no GPU has enough headroom' : 'footprint exceeds every GPU (capacity − reserve)',
      });
    }
  }

  const total = usage.reduce((s, u) => s + u.gpu.memoryBytes, 0);
  const used = usage.reduce((s, u) => s + u.usedBytes, 0);
  return { policy, usage, replicas, removed, unplaced, memoryUtilization: total > 0 ? used / total : 0 };
}

/** Asserts the invariant every plan keeps (used by tests and the simulation). */
export function overCommitted(result: PlacementResult, reserveBytes: number): string[] {
  return result.usage
    .filter((u) => !fits({ ...u, cordoned: false, replicas: 0 }, 0, { reserveBytes, maxReplicasPerGpu: 0 }))
    .map((u) => gpuId(u.gpu));
}
