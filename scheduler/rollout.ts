import type { PlanRollout } from '../common/plan-view.js';
import type { Logger } from '../common/log.js';
import type { PlacementResult } from './placement/plan.js';
import { fits, headroomBytes, type GpuUsage } from './placement/fit.js';
import { compareGpus, gpuId, type ExistingReplica, type PlacedReplica } from './types.js';

export interface RolloutOptions {
  /** Per model: at most this many replicas drained before their replacement is ready (no room for a copy). */
  maxUnavailable: number;
  reserveBytes: number;
  maxReplicasPerGpu: number;
  /** `codetr`, or `codetr@2` beside another version (ModelSet.labelOf). */
  labelOf: (r: { model: string; version: string }) => string;
  logger: Logger;
}

/** Replaces outdated replicas, and those on cordoned nodes, one GPU at a time. */
export interface Rollout {
  /**
   * Adds this pass's replacements to the plan: for each replica to replace on the GPU of the current step, a
   * copy first (a move: the original is drained once its copy is ready) on its own GPU when there is room
   * (else another), else — outdated replicas only — drained first and re-created by the plan, at most
   * `maxUnavailable` of a model at a time. Returns what rolls, per model, for the plan view.
   */
  step(result: PlacementResult, existing: ExistingReplica[]): PlanRollout[];
}

/** Why a replica is to be replaced, or null. */
function replaceReason(r: ExistingReplica, usage: ReadonlyMap<string, GpuUsage>): string | null {
  const u = usage.get(gpuId(r));
  if (u?.gpu.unschedulable === 'cordoned') return 'node cordoned';
  return r.outdated ? 'spec changed' : null;
}

/** What one pass's step reads: the plan so far, the replicas here, and indexes over them. */
interface Pass {
  result: PlacementResult;
  existing: ExistingReplica[];
  usage: ReadonlyMap<string, GpuUsage>;
  ids: ReadonlySet<string>;
  /** The plan's kept placements, by the id of the replica each keeps. */
  kept: ReadonlyMap<string, PlacedReplica>;
  /** Replicas the plan removes (before this step adds its own). */
  removed: ReadonlySet<string>;
  /** Copies here, by the id of the original each replaces. */
  copies: ReadonlyMap<string, ExistingReplica>;
  live: ExistingReplica[];
}

/** A rollout step: the GPU whose originals are being replaced, and how (a copy first, or drained first). */
interface RolloutStep {
  gpu: string;
  originals: Map<string, 'copy' | 'drain'>;
}

type Fit = Pick<RolloutOptions, 'reserveBytes' | 'maxReplicasPerGpu'>;

function passOf(result: PlacementResult, existing: ExistingReplica[]): Pass {
  return {
    result,
    existing,
    usage: new Map(result.usage.map((u) => [gpuId(u.gpu), u])),
    ids: new Set(existing.map((r) => r.id)),
    kept: new Map(result.replicas.filter((p) => p.existingId).map((p) => [p.existingId!, p])),
    removed: new Set(result.removed.map((x) => x.replica.id)),
    copies: new Map(existing.filter((r) => r.replaces).map((r) => [r.replaces!, r])),
    live: existing.filter((r) => !r.draining),
  };
}

function bump(counts: Map<string, number>, label: string): void {
  counts.set(label, (counts.get(label) ?? 0) + 1);
}

/** Unavailable per model label: not ready, or drained by this rollout and not gone yet. */
function unavailableCounts(
  pass: Pass,
  current: RolloutStep | null,
  labelOf: RolloutOptions['labelOf'],
): Map<string, number> {
  const drained = current
    ? [...current.originals].filter(([id, how]) => how === 'drain' && pass.ids.has(id)).map(([id]) => id)
    : [];
  const unavailable = new Map<string, number>();
  // a copy that is starting stands in for nothing yet: its original still serves
  for (const r of pass.live) {
    if (r.ready === false && !(r.replaces && pass.ids.has(r.replaces))) bump(unavailable, labelOf(r));
  }
  for (const r of pass.existing) if (drained.includes(r.id)) bump(unavailable, labelOf(r));
  return unavailable;
}

/** The GPU a copy of `r` goes to: its own when it stays schedulable and has room, else the roomiest. */
function copyTarget(
  r: ExistingReplica,
  footprint: number,
  result: PlacementResult,
  own: boolean,
  fit: Fit,
): GpuUsage | null {
  const id = gpuId(r);
  const others = result.usage
    .filter((u) => gpuId(u.gpu) !== id)
    .sort(
      (a, b) =>
        headroomBytes(b, fit.reserveBytes) - headroomBytes(a, fit.reserveBytes) || compareGpus(a.gpu, b.gpu),
    );
  const mine = own ? result.usage.filter((u) => gpuId(u.gpu) === id) : [];
  return [...mine, ...others].find((u) => fits(u, footprint, fit, r.model).ok) ?? null;
}

function addCopy(
  result: PlacementResult,
  r: ExistingReplica,
  to: GpuUsage,
  footprint: number,
  why: string,
): void {
  const placed: PlacedReplica = {
    model: r.model,
    version: r.version,
    node: to.gpu.node,
    gpuIndex: to.gpu.index,
    footprintBytes: footprint,
    existingId: null,
    moveOf: r.id,
    reason: `rolling (${why}): copy first`,
  };
  to.usedBytes += footprint;
  to.replicas += 1;
  result.replicas.push(placed);
  result.moves.push({ replica: r, to: placed, reason: placed.reason! });
}

/**
 * Continues the current step: forgets originals that are gone, and asks again for a copy the actuator could
 * not start yet. The step is still in progress while it has originals left.
 */
function continueStep(current: RolloutStep, pass: Pass, fit: Fit): void {
  for (const [id, how] of current.originals) {
    if (!pass.ids.has(id)) current.originals.delete(id);
    else if (how === 'copy' && !pass.copies.has(id) && !pass.removed.has(id)) {
      const r = pass.live.find((x) => x.id === id);
      const footprint = pass.kept.get(id)?.footprintBytes;
      const why = r && replaceReason(r, pass.usage);
      const to =
        r && footprint !== undefined && why
          ? copyTarget(r, footprint, pass.result, why !== 'node cordoned', fit)
          : null;
      if (r && to && why) addCopy(pass.result, r, to, footprint!, why);
    }
  }
}

/**
 * Starts the next step on the first GPU (in GPU order) where some replica can be replaced now: a copy first
 * where there is room, else drained first within `maxUnavailable`. Notes in `waiting` why a model waits.
 */
function nextStep(
  pass: Pass,
  unavailable: Map<string, number>,
  waiting: Map<string, string>,
  options: RolloutOptions,
): RolloutStep | null {
  const { maxUnavailable, labelOf } = options;
  const todo = pass.live.filter(
    (r) =>
      pass.kept.has(r.id) &&
      !pass.removed.has(r.id) &&
      !pass.copies.has(r.id) &&
      replaceReason(r, pass.usage),
  );
  const byGpu = todo.sort(
    (a, b) =>
      compareGpus({ node: a.node, index: a.gpuIndex }, { node: b.node, index: b.gpuIndex }) ||
      (a.id < b.id ? -1 : 1),
  );
  for (const first of byGpu) {
    const gpu = gpuId(first);
    const originals = new Map<string, 'copy' | 'drain'>();
    for (const r of byGpu.filter((x) => gpuId(x) === gpu)) {
      const why = replaceReason(r, pass.usage)!;
      const footprint = pass.kept.get(r.id)!.footprintBytes;
      const to = copyTarget(r, footprint, pass.result, why !== 'node cordoned', options);
      if (to) {
        addCopy(pass.result, r, to, footprint, why);
        originals.set(r.id, 'copy');
      } else if (why === 'node cordoned') {
        waiting.set(labelOf(r), 'no room elsewhere for a copy: the cordoned copies keep serving');
      } else if ((unavailable.get(labelOf(r)) ?? 0) < maxUnavailable) {
        pass.result.removed.push({
          replica: r,
          reason: `rolling (${why}): no room for a copy first, drained first`,
        });
        originals.set(r.id, 'drain');
        bump(unavailable, labelOf(r));
      } else waiting.set(labelOf(r), `${maxUnavailable} unavailable (rollout.maxUnavailable)`);
    }
    if (originals.size > 0) {
      options.logger.info('rolling replicas', {
        gpu,
        replicas: [...originals].map(([id, how]) => ({ replica: id, how })),
      });
      return { gpu, originals };
    }
  }
  return null;
}

/** What rolls, per model label, for the plan view. */
function rolloutView(
  pass: Pass,
  stepGpu: string | null,
  waiting: ReadonlyMap<string, string>,
  labelOf: RolloutOptions['labelOf'],
): PlanRollout[] {
  const status = new Map<string, { model: string; total: number; toReplace: number; reasons: Set<string> }>();
  for (const r of pass.live.filter((x) => !x.replaces || !pass.ids.has(x.replaces))) {
    const label = labelOf(r);
    const s = status.get(label) ?? { model: label, total: 0, toReplace: 0, reasons: new Set<string>() };
    s.total += 1;
    const why = replaceReason(r, pass.usage);
    if (why) {
      s.toReplace += 1;
      s.reasons.add(why);
    }
    status.set(label, s);
  }
  return [...status.values()]
    .filter((s) => s.toReplace > 0)
    .sort((a, b) => (a.model < b.model ? -1 : 1))
    .map((s) => ({
      model: s.model,
      reason: [...s.reasons].sort().join(', '),
      replaced: s.total - s.toReplace,
      total: s.total,
      status: `rolling ${s.total - s.toReplace} of ${s.total}`,
      step: stepGpu,
      waiting: waiting.get(s.model) ?? null,
    }));
}

export function createRollout(options: RolloutOptions): Rollout {
  let current: RolloutStep | null = null;
  /** Models that had replicas to replace at the last pass (to log when a rollout completes). */
  let rolling = new Set<string>();

  return {
    step(result, existing) {
      const pass = passOf(result, existing);
      const unavailable = unavailableCounts(pass, current, options.labelOf);
      if (current) {
        continueStep(current, pass, options);
        if (current.originals.size === 0) current = null;
      }
      const waiting = new Map<string, string>();
      // The next GPU, once the last step is done and no other move's copy is still starting.
      if (!current && !existing.some((r) => r.replaces && r.ready === false)) {
        current = nextStep(pass, unavailable, waiting, options);
      }
      const view = rolloutView(pass, current?.gpu ?? null, waiting, options.labelOf);
      const now = new Set(view.map((v) => v.model));
      for (const model of rolling) if (!now.has(model)) options.logger.info('rollout complete', { model });
      rolling = now;
      return view;
    },
  };
}
