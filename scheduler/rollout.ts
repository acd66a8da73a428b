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
  const u = usage.get(gpuId({ node: r.node, index: r.gpuIndex }));
  if (u?.gpu.unschedulable === 'cordoned') return 'node cordoned';
  return r.outdated ? 'spec changed' : null;
}

export function createRollout(options: RolloutOptions): Rollout {
  const { maxUnavailable, reserveBytes, maxReplicasPerGpu, labelOf, logger } = options;
  /** The current step: originals being replaced, and how (a copy first, or drained first). */
  let current: { gpu: string; originals: Map<string, 'copy' | 'drain'> } | null = null;
  /** Models that had replicas to replace at the last pass (to log when a rollout completes). */
  let rolling = new Set<string>();

  /** The GPU a copy of `r` goes to: its own when it stays schedulable and has room, else the roomiest. */
  function copyTarget(
    r: ExistingReplica,
    footprint: number,
    result: PlacementResult,
    own: boolean,
  ): GpuUsage | null {
    const fit = { reserveBytes, maxReplicasPerGpu };
    const id = gpuId({ node: r.node, index: r.gpuIndex });
    const others = result.usage
      .filter((u) => gpuId(u.gpu) !== id)
      .sort(
        (a, b) =>
          headroomBytes(b, reserveBytes) - headroomBytes(a, reserveBytes) || compareGpus(a.gpu, b.gpu),
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

  return {
    step(result, existing) {
      const usage = new Map(result.usage.map((u) => [gpuId(u.gpu), u]));
      const ids = new Set(existing.map((r) => r.id));
      const kept = new Map(result.replicas.filter((p) => p.existingId).map((p) => [p.existingId!, p]));
      const removed = new Set(result.removed.map((x) => x.replica.id));
      const copies = new Map(existing.filter((r) => r.replaces).map((r) => [r.replaces!, r]));
      const live = existing.filter((r) => !r.draining);
      const todo = live.filter(
        (r) => kept.has(r.id) && !removed.has(r.id) && !copies.has(r.id) && replaceReason(r, usage),
      );

      // Unavailable per model: not ready, or drained by this rollout and not gone yet.
      const drained = current
        ? [...current.originals].filter(([id, how]) => how === 'drain' && ids.has(id)).map(([id]) => id)
        : [];
      const unavailable = new Map<string, number>();
      const bump = (r: ExistingReplica): void => {
        unavailable.set(labelOf(r), (unavailable.get(labelOf(r)) ?? 0) + 1);
      };
      // a copy that is starting stands in for nothing yet: its original still serves
      for (const r of live) if (r.ready === false && !(r.replaces && ids.has(r.replaces))) bump(r);
      for (const r of existing) if (drained.includes(r.id)) bump(r);

      if (current) {
        // Still in progress while an original is here; a copy the actuator could not start yet is asked again.
        for (const [id, how] of current.originals) {
          if (!ids.has(id)) current.originals.delete(id);
          else if (how === 'copy' && !copies.has(id) && !removed.has(id)) {
            const r = live.find((x) => x.id === id);
            const footprint = kept.get(id)?.footprintBytes;
            const why = r && replaceReason(r, usage);
            const to =
              r && footprint !== undefined && why
                ? copyTarget(r, footprint, result, why !== 'node cordoned')
                : null;
            if (r && to && why) addCopy(result, r, to, footprint!, why);
          }
        }
        if (current.originals.size === 0) current = null;
      }
      const waiting = new Map<string, string>();
      // The next GPU, once the last step is done and no other move's copy is still starting.
      if (!current && !existing.some((r) => r.replaces && r.ready === false)) {
        const byGpu = [...todo].sort(
          (a, b) =>
            compareGpus({ node: a.node, index: a.gpuIndex }, { node: b.node, index: b.gpuIndex }) ||
            (a.id < b.id ? -1 : 1),
        );
        for (const first of byGpu) {
          const gpu = gpuId({ node: first.node, index: first.gpuIndex });
          const originals = new Map<string, 'copy' | 'drain'>();
          for (const r of byGpu.filter((x) => gpuId({ node: x.node, index: x.gpuIndex }) === gpu)) {
            const why = replaceReason(r, usage)!;
            const footprint = kept.get(r.id)!.footprintBytes;
            const to = copyTarget(r, footprint, result, why !== 'node cordoned');
            if (to) {
              addCopy(result, r, to, footprint, why);
              originals.set(r.id, 'copy');
            } else if (why === 'node cordoned') {
              waiting.set(labelOf(r), 'no room elsewhere for a copy: the cordoned copies keep serving');
            } else if ((unavailable.get(labelOf(r)) ?? 0) < maxUnavailable) {
              result.removed.push({
                replica: r,
                reason: `rolling (${why}): no room for a copy first, drained first`,
              });
              originals.set(r.id, 'drain');
              bump(r);
            } else waiting.set(labelOf(r), `${maxUnavailable} unavailable (rollout.maxUnavailable)`);
          }
          if (originals.size > 0) {
            current = { gpu, originals };
            logger.info('rolling replicas', {
              gpu,
              replicas: [...originals].map(([id, how]) => ({ replica: id, how })),
            });
            break;
          }
        }
      }

      const status = new Map<
        string,
        { model: string; total: number; toReplace: number; reasons: Set<string> }
      >();
      for (const r of live.filter((x) => !x.replaces || !ids.has(x.replaces))) {
        const label = labelOf(r);
        const s = status.get(label) ?? { model: label, total: 0, toReplace: 0, reasons: new Set<string>() };
        s.total += 1;
        const why = replaceReason(r, usage);
        if (why) {
          s.toReplace += 1;
          s.reasons.add(why);
        }
        status.set(label, s);
      }
      const view = [...status.values()]
        .filter((s) => s.toReplace > 0)
        .sort((a, b) => (a.model < b.model ? -1 : 1))
        .map((s) => ({
          model: s.model,
          reason: [...s.reasons].sort().join(', '),
          replaced: s.total - s.toReplace,
          total: s.total,
          status: `rolling ${s.total - s.toReplace} of ${s.total}`,
          step: current?.gpu ?? null,
          waiting: waiting.get(s.model) ?? null,
        }));
      const now = new Set(view.map((v) => v.model));
      for (const model of rolling) if (!now.has(model)) logger.info('rollout complete', { model });
      rolling = now;
      return view;
    },
  };
}
