import { compareGpus, gpuId, type ExistingReplica, type ModelPlan } from '../types.js';
import type { RemovedReplica } from './changes.js';
import type { GpuUsage } from './fit.js';
import { count, footprintFn, targetOf, type Planning } from './planning.js';
import type { GpuLoad } from './policies/types.js';

/**
 * Phases 1 and 2 of a plan (plan.ts): what runs now. Draining replicas still hold memory; running ones are
 * kept where still wanted and still fitting, so a plan never moves working replicas for nothing.
 */
export function keepExisting(s: Planning, existing: readonly ExistingReplica[]): RemovedReplica[] {
  const sorted = [...existing].sort(
    (a, b) =>
      compareGpus({ node: a.node, index: a.gpuIndex }, { node: b.node, index: b.gpuIndex }) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  countDraining(s, sorted);
  const { wanted, removed } = stillWanted(s, sorted);
  const order = surplusOrder(s, wanted);
  for (const model of s.models) removed.push(...keepModel(s, model, wanted.get(model.name) ?? [], order));
  return removed;
}

/** 1. What is draining still holds memory until it is gone. */
function countDraining(s: Planning, existing: ExistingReplica[]): void {
  for (const r of existing.filter((r) => r.draining)) {
    const u = s.byId.get(gpuId(r));
    if (!u) continue;
    count(s, u, r.model, r.footprintBytes, true);
    leaving(s, u, r.footprintBytes);
  }
}

/** Bytes on the GPU that are on their way out: room promised to a waiting model (room.ts). */
function leaving(s: Planning, u: GpuUsage, bytes: number): void {
  const id = gpuId(u.gpu);
  s.leavingBytes.set(id, (s.leavingBytes.get(id) ?? 0) + bytes);
}

/** 2a. Running replicas by model, and those whose model, GPU or version is gone. */
function stillWanted(
  s: Planning,
  existing: ExistingReplica[],
): { wanted: Map<string, ExistingReplica[]>; removed: RemovedReplica[] } {
  const removed: RemovedReplica[] = [];
  const modelByName = new Map(s.models.map((m) => [m.name, m]));
  const wanted = new Map<string, ExistingReplica[]>();
  for (const r of existing.filter((r) => !r.draining)) {
    const model = modelByName.get(r.model);
    if (!model) removed.push({ replica: r, reason: 'model no longer configured' });
    else if (!s.byId.has(gpuId(r))) removed.push({ replica: r, reason: `GPU ${gpuId(r)} is gone` });
    else if (r.version !== model.version)
      removed.push({ replica: r, reason: `version ${r.version} replaced by ${model.version}` });
    else wanted.set(r.model, [...(wanted.get(r.model) ?? []), r]);
  }
  return { wanted, removed };
}

type SurplusOrder = (a: ExistingReplica, b: ExistingReplica) => number;

/** 2b. The policy's surplus order, by what the wanted replicas hold on each GPU. */
function surplusOrder(s: Planning, wanted: Map<string, ExistingReplica[]>): SurplusOrder {
  const load = new Map<string, GpuLoad>();
  for (const list of wanted.values())
    for (const r of list) {
      const l = load.get(gpuId(r)) ?? { bytes: 0, replicas: 0 };
      load.set(gpuId(r), { bytes: l.bytes + r.footprintBytes, replicas: l.replicas + 1 });
    }
  return (a, b) => s.policy.surplusOrder(load.get(gpuId(a))!, load.get(gpuId(b))!);
}

/**
 * 2c. One model's running replicas: kept while still fitting (a raised footprint may evict some); a moved
 * replica stays until its copy is ready, then goes; surplus goes outdated first (rollout.ts), then from
 * cordoned or NotReady nodes, then in the policy's order.
 */
function keepModel(
  s: Planning,
  model: ModelPlan,
  list: ExistingReplica[],
  order: SurplusOrder,
): RemovedReplica[] {
  const removed: RemovedReplica[] = [];
  // A move in progress: the original and its copy count as one wanted replica until the copy is ready.
  const copyOf = new Map(list.filter((r) => r.replaces).map((r) => [r.replaces!, r]));
  const ids = new Set(list.map((r) => r.id));
  const pinned: ExistingReplica[] = [];
  const rest: ExistingReplica[] = [];
  for (const r of list) {
    const copy = copyOf.get(r.id);
    if (copy && copy.ready !== false) {
      removed.push({ replica: r, reason: `moved to ${gpuId(copy)} (its copy is ready)` });
      // Drained from now on, it holds its memory until gone: nothing takes its place in this plan.
      const u = s.byId.get(gpuId(r))!;
      count(s, u, r.model, r.footprintBytes, true);
      leaving(s, u, r.footprintBytes);
    } else if (copy || (r.replaces && ids.has(r.replaces) && r.ready === false)) pinned.push(r);
    else rest.push(r);
  }
  const leavingFirst = (r: ExistingReplica): number =>
    (r.outdated ? 2 : 0) + (s.byId.get(gpuId(r))!.gpu.unschedulable ? 1 : 0);
  rest.sort((a, b) => leavingFirst(a) - leavingFirst(b) || order(a, b));
  const keep = Math.max(0, Math.min(rest.length, targetOf(model) - pinned.length / 2));
  const footprintOf = footprintFn(model);
  const keepOne = (r: ExistingReplica): void => {
    const u = s.byId.get(gpuId(r))!;
    const footprint = Math.max(footprintOf(u.gpu), 0);
    if (u.gpu.memoryBytes - u.usedBytes - s.fit.reserveBytes < footprint) {
      removed.push({ replica: r, reason: 'no longer fits its GPU (footprint raised)' });
      return;
    }
    count(s, u, r.model, footprint, true);
    s.replicas.push({
      model: r.model,
      version: r.version,
      node: r.node,
      gpuIndex: r.gpuIndex,
      footprintBytes: footprint,
      existingId: r.id,
    });
    // The original of a move in progress is on its way out: its GPU's room is promised to the waiting model.
    if (copyOf.has(r.id)) leaving(s, u, footprint);
    else s.have.set(r.model, (s.have.get(r.model) ?? 0) + 1);
  };
  pinned.forEach(keepOne);
  rest.forEach((r, i) =>
    i < keep ? keepOne(r) : removed.push({ replica: r, reason: `scale down to ${targetOf(model)}` }),
  );
  return removed;
}
