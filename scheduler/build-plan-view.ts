import type { PlanAction, PlanView } from '../common/plan-view.js';
import type { ManagedReplica, ReplicaFailure } from './orchestrators/types.js';
import { failureHint } from './orchestrators/failure-cause.js';
import type { MeasuredUtilization, PlacementResult } from './placement/plan.js';
import { gpuId, modelLabel } from './types.js';

/**
 * The scheduler's plan as it publishes it (`GET /v1/plan`, common/plan-view.ts): the actions the last pass
 * decided with their reasons, which models fill which GPU, what could not be placed and why, and the memory
 * utilisation of one replica per GPU (placement/one-per-gpu.ts) for comparison.
 */
type Label = (r: { model: string; version: string }) => string;

export function toPlanView(input: {
  result: PlacementResult;
  replicas: ManagedReplica[];
  desired: ReadonlyMap<string, number>;
  reserveBytes: number;
  utilization: MeasuredUtilization;
  seedMemoryUtilization: number;
  /** The last death per model version whose replicas are not ready (scheduler.ts keeps them past a cordon). */
  failures?: { replica: ManagedReplica; failure: ReplicaFailure }[];
  now: number;
}): PlanView {
  const { result } = input;
  // `codetr@2` beside `codetr@1` when both versions are planned, else the plain name.
  const label: Label = (r) => modelLabel(r.model, r.version, result.versionedModels);
  return {
    generatedAt: new Date(input.now).toISOString(),
    policy: result.policy,
    memoryUtilization: result.memoryUtilization,
    actions: actionsOf(result, input.replicas, input.desired, label),
    gpus: gpusOf(result, input.reserveBytes, input.utilization, label),
    unplaced: result.unplaced,
    failures: (input.failures ?? []).map(({ replica: r, failure }) => ({
      replica: r.id,
      model: label(r),
      gpu: gpuId(r),
      kind: failure.kind,
      message: failure.message,
      hint: failureHint(failure.message),
      restarts: r.restarts,
    })),
    seedMemoryUtilization: input.seedMemoryUtilization,
  };
}

/** What the pass decided, with reasons: failed replicas deleted, removals drained, creates and moves. */
function actionsOf(
  result: PlacementResult,
  replicas: ManagedReplica[],
  desired: ReadonlyMap<string, number>,
  label: Label,
): PlanAction[] {
  const actions: PlanAction[] = [];
  for (const r of replicas)
    if (r.phase === 'failed')
      actions.push({
        type: 'delete',
        model: label(r),
        node: r.node,
        gpuIndex: r.gpuIndex,
        replicaId: r.id,
        reason: r.lastFailure?.message ?? 'failed',
      });
  for (const { replica, reason } of result.removed)
    actions.push({
      type: 'drain',
      model: label(replica),
      node: replica.node,
      gpuIndex: replica.gpuIndex,
      replicaId: replica.id,
      reason,
    });
  for (const p of result.replicas.filter((x) => !x.existingId))
    actions.push({
      type: p.moveOf ? 'move' : 'create',
      model: label(p),
      node: p.node,
      gpuIndex: p.gpuIndex,
      replicaId: p.moveOf ?? null,
      reason: p.moveOf ? (p.reason ?? 'move') : `${desired.get(label(p))} wanted; ${p.reason ?? 'placed'}`,
    });
  return actions;
}

/** Per GPU: which models fill it (replicas per label), its capacity, reserve, measured load and keeper. */
function gpusOf(
  result: PlacementResult,
  reserveBytes: number,
  utilization: MeasuredUtilization,
  label: Label,
): PlanView['gpus'] {
  return result.usage.map((u) => {
    const models = new Map<string, number>();
    for (const r of result.replicas)
      if (r.node === u.gpu.node && r.gpuIndex === u.gpu.index)
        models.set(label(r), (models.get(label(r)) ?? 0) + 1);
    return {
      node: u.gpu.node,
      index: u.gpu.index,
      name: u.gpu.product,
      memoryTotalBytes: u.gpu.memoryBytes,
      memoryReservedBytes: reserveBytes,
      virtual: u.gpu.virtual === true,
      models: [...models].sort(([a], [b]) => (a < b ? -1 : 1)).map(([model, n]) => ({ model, replicas: n })),
      utilization: utilization.get(gpuId(u.gpu))?.ratio ?? null,
      reservedFor: u.reservedFor,
    };
  });
}
