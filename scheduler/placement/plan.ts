import {
  gpuId,
  modelLabel,
  versionedNames,
  type ExistingReplica,
  type Gpu,
  type ModelPlan,
  type PlacedReplica,
} from '../types.js';
import type { MoveReplica, RemovedReplica, UnplacedModel } from './changes.js';
import { keepExisting } from './existing.js';
import { fits, type GpuUsage } from './fit.js';
import {
  busyOf,
  createPlanning,
  footprintFn,
  placeOne,
  targetOf,
  type MeasuredUtilization,
  type Planning,
} from './planning.js';
import { DEFAULT_POLICY, placementPolicy, type Policy } from './policy.js';
import { makeRoom } from './room.js';

export type { MeasuredUtilization } from './planning.js';

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
  /** Measured compute utilisation per GPU id (common/gpu-utilization.ts), for the throughput policy. */
  utilization?: MeasuredUtilization;
}

export interface PlacementResult {
  policy: Policy;
  /** Per GPU, sorted by node then index. */
  usage: GpuUsage[];
  replicas: PlacedReplica[];
  /** Existing replicas the desired state no longer has (drain, then delete). */
  removed: RemovedReplica[];
  /** Existing replicas relocated to make room for a model that waits (their copies are in `replicas`). */
  moves: MoveReplica[];
  /** Replicas wanted but not placeable. */
  unplaced: UnplacedModel[];
  /** Σ counted footprints / Σ capacity, after the plan. */
  memoryUtilization: number;
  /**
   * Model names planned in more than one version: their rows in `usage`, `unplaced` and reasons read
   * `name@version` (types.ts `modelLabel`); replicas and removals keep the plain name beside their version.
   */
  versionedModels: string[];
}

/**
 * Plans the whole cluster (desired state) in four phases: count what drains; keep valid existing replicas
 * and remove surplus ones; place new ones in rounds (largest footprint first, one replica per model per
 * round, minimums before the rest) so models share scarce memory fairly; then, for a model that still fits
 * nowhere, make room on one GPU by moving smaller replicas elsewhere (copy first, drain after). Never counts
 * more than a GPU's capacity − reserve.
 *
 * @example
 * planPlacement({ gpus: parseGpuSpec('10x24564MiB'), models: [{ name: 'codetr', version: '1',
 *   footprintBytes: 9830 * 2 ** 20, minReplicas: 1, desiredReplicas: Infinity }] }).memoryUtilization // 0.80
 */
export function planPlacement(input: PlacementInput): PlacementResult {
  const versioned = versionedNames(input.models);
  if (versioned.length === 0) return { ...planByName(input), versionedModels: [] };
  return planVersions(input, versioned);
}

/**
 * Several versions of one model side by side: each version is planned as a model of its own, named
 * `name@version` (its own demand, footprint and replicas; a replica of a version no longer configured goes),
 * then the plain name comes back on what the orchestrator acts on.
 */
function planVersions(input: PlacementInput, versioned: string[]): PlacementResult {
  const label = (name: string, version: string): string => modelLabel(name, version, versioned);
  const nameOf = new Map(input.models.map((m) => [label(m.name, m.version), m.name]));
  const originals = new Map<ExistingReplica, ExistingReplica>();
  const existing = (input.existing ?? []).map((r) => {
    const labelled = { ...r, model: label(r.model, r.version) };
    originals.set(labelled, r);
    return labelled;
  });
  const result = planByName({
    ...input,
    models: input.models.map((m) => ({ ...m, name: label(m.name, m.version) })),
    existing,
  });
  const plain = (p: PlacedReplica): PlacedReplica => ({ ...p, model: nameOf.get(p.model) ?? p.model });
  const original = (r: ExistingReplica): ExistingReplica => originals.get(r) ?? r;
  return {
    ...result,
    replicas: result.replicas.map(plain),
    removed: result.removed.map(({ replica, reason }) => {
      const r = original(replica);
      return {
        replica: r,
        reason:
          reason === 'model no longer configured' && versioned.includes(r.model)
            ? `version ${r.version} of ${r.model} no longer configured`
            : reason,
      };
    }),
    moves: result.moves.map((m) => ({ ...m, replica: original(m.replica), to: plain(m.to) })),
    versionedModels: versioned,
  };
}

function planByName(input: PlacementInput): Omit<PlacementResult, 'versionedModels'> {
  // Finite demand, under a policy that asks for it (throughput): place each model's new replicas whole, heaviest compute first (longest
  // processing time first balances GPUs: ten Co-DETR then ten small replicas end one of each per GPU, where
  // alternating rounds leave some GPUs with two Co-DETR). Rounds again when that leaves anything unplaced:
  // they share scarce memory fairly between models.
  if (
    placementPolicy(input.policy ?? DEFAULT_POLICY).wholeModelsFirst &&
    input.models.every((m) => Number.isFinite(targetOf(m)))
  ) {
    const whole = plan(input, 'by-model');
    if (whole.unplaced.length === 0) return whole;
  }
  return plan(input, 'rounds');
}

function plan(input: PlacementInput, order: 'rounds' | 'by-model'): Omit<PlacementResult, 'versionedModels'> {
  const { gpus, models, existing = [], policy = DEFAULT_POLICY, reserveBytes = 0 } = input;
  const s = createPlanning(gpus, models, {
    policy: placementPolicy(policy),
    fit: { reserveBytes, maxReplicasPerGpu: input.maxReplicasPerGpu ?? 0 },
    cordoned: new Set(input.cordoned ?? []),
    utilization: input.utilization ?? new Map<string, { ratio: number; replicas: number }>(),
  });
  const removed = keepExisting(s, existing);
  placeNew(s, order);
  const moves = makeRoom(s);
  return { policy, usage: s.usage, replicas: s.replicas, removed, moves, ...summary(s) };
}

/**
 * 3. New replicas: minimums first, then up to the desired count; in rounds (one replica per model per
 * round) or (`by-model`) each model whole, heaviest compute per replica first.
 */
function placeNew(s: Planning, order: 'rounds' | 'by-model'): void {
  for (const phase of ['min', 'desired'] as const) {
    const blocked = new Set<string>();
    const heaviest = [...s.order].sort((a, b) => busyOf(s, b.name) - busyOf(s, a.name));
    const groups = order === 'by-model' ? heaviest.map((m) => [m]) : [s.order];
    for (const group of groups) {
      let progress = true;
      while (progress) {
        progress = false;
        for (const model of group) {
          if (blocked.has(model.name)) continue;
          const target = phase === 'min' ? model.minReplicas : targetOf(model);
          if ((s.have.get(model.name) ?? 0) >= target) continue;
          if (placeOne(s, model)) progress = true;
          else blocked.add(model.name);
        }
      }
    }
  }
}

function summary(s: Planning): Pick<PlacementResult, 'unplaced' | 'memoryUtilization'> {
  const unplaced: UnplacedModel[] = [];
  for (const model of s.models) {
    const missing = targetOf(model) - (s.have.get(model.name) ?? 0);
    if (!(missing > 0 && Number.isFinite(missing))) continue;
    const anyFits = s.usage.some(
      (u) => !u.cordoned && u.gpu.memoryBytes - s.fit.reserveBytes >= footprintFn(model)(u.gpu),
    );
    unplaced.push({
      model: model.name,
      count: missing,
      reason:
        s.waiting.get(model.name) ??
        (anyFits ? 'no GPU has enough headroom' : 'footprint exceeds every GPU (capacity − reserve)'),
      gpus: s.rejected.get(model.name) ?? [],
    });
  }
  const total = s.usage.reduce((sum, u) => sum + u.gpu.memoryBytes, 0);
  const used = s.usage.reduce((sum, u) => sum + u.usedBytes, 0);
  return { unplaced, memoryUtilization: total > 0 ? used / total : 0 };
}

/** Asserts the invariant every plan keeps (used by tests and the simulation). */
export function overCommitted(result: PlacementResult, reserveBytes: number): string[] {
  return result.usage
    .filter(
      (u) =>
        !fits({ ...u, cordoned: false, replicas: 0, reservedFor: null }, 0, {
          reserveBytes,
          maxReplicasPerGpu: 0,
        }).ok,
    )
    .map((u) => gpuId(u.gpu));
}
