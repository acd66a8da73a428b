import type { Logger } from '../common/log.js';
import type { SchedulerMetrics } from './metrics.js';
import type { BatchChoices, ModelSet, SchedulerModel } from './model-set.js';
import type { ManagedReplica, Orchestrator, ReplicaRequest } from './orchestrators/types.js';
import type { PlacementResult } from './placement/plan.js';
import { gpuId, type ExistingReplica, type Gpu, type PlacedReplica } from './types.js';

export interface ActuatorOptions {
  orchestrator: Orchestrator;
  set: ModelSet;
  /** The loop's chosen max batches (read when a replica is created). */
  batches: BatchChoices;
  metrics: Pick<SchedulerMetrics, 'actions'>;
  logger: Logger;
  now: () => number;
  drainTimeoutMs: number;
  /** A starting replica blocks the next one on its GPU until ready or this long. */
  readyTimeoutMs: number;
  /** What defines a model's replicas today (spec-hash.ts); a replica created with another hash is outdated. */
  specHashOf?: (model: SchedulerModel) => string;
  /** A model (label) in back-off after a failed start gets no new replica yet (startup-watch.ts). */
  holdsBack?: (label: string) => boolean;
}

/** Turns a plan into orchestrator calls, and remembers what is on its way out and which copy replaces which. */
export interface Actuator {
  /** What runs, as the planner sees it: removals in progress still hold memory; moves pair copy and original. */
  existing(replicas: ManagedReplica[]): ExistingReplica[];
  /**
   * Failed replicas are deleted; removals drained (when they serve), then deleted, in the background; new
   * replicas and moves' copies created one starting replica per GPU at a time, so each footprint can be
   * measured as the GPU's used-memory delta.
   */
  act(result: PlacementResult, replicas: ManagedReplica[], gpus: Gpu[]): Promise<void>;
}

/** One closure: what is being removed and which copy replaces which are state its methods share. */
export function createActuator(options: ActuatorOptions): Actuator {
  const { orchestrator, set, batches, metrics, logger, now, drainTimeoutMs, readyTimeoutMs } = options;
  const { specHashOf, holdsBack = () => false } = options;
  const outdated = (r: ManagedReplica): boolean => isOutdated(r, set, specHashOf);
  const removing = new Set<string>();
  /** A move's copy (by its id) → the replica it replaces. In memory: after a restart a copy is just surplus. */
  const replaces = new Map<string, string>();

  function drainAndRemove(id: string, model: string, reason: string, drain: boolean): void {
    if (removing.has(id)) return;
    removing.add(id);
    metrics.actions.inc({ type: drain ? 'drain' : 'delete', model });
    logger.info(drain ? 'draining replica' : 'deleting replica', { replica: id, model, reason });
    void (async () => {
      try {
        if (drain) await orchestrator.drain(id, drainTimeoutMs);
        await orchestrator.remove(id);
      } catch (err) {
        logger.warn('replica removal failed', { replica: id, err });
      } finally {
        removing.delete(id);
      }
    })();
  }

  /**
   * GPUs with a replica pending or starting: they take no other yet. A starting replica blocks for
   * readyTimeoutMs from its container's start; a pending one whose orchestrator reports its startup stage
   * blocks until it starts or is deleted for overrunning that stage (startup-watch.ts): a slow image pull
   * does not let a second replica start beside it.
   */
  function startingOn(replicas: ManagedReplica[]): Set<string> {
    const blocks = (r: ManagedReplica): boolean =>
      (r.phase === 'pending' && r.startup != null) ||
      ((r.phase === 'pending' || r.phase === 'starting') && now() - r.startedAt < readyTimeoutMs);
    return new Set(replicas.filter(blocks).map((r) => gpuId({ node: r.node, index: r.gpuIndex })));
  }

  async function create(p: PlacedReplica, gpus: Gpu[]): Promise<void> {
    const id = gpuId({ node: p.node, index: p.gpuIndex });
    metrics.actions.inc({ type: p.moveOf ? 'move' : 'create', model: set.labelOf(p) });
    try {
      const created = await orchestrator.create(replicaRequest(p, gpus, set, batches, specHashOf));
      if (p.moveOf) {
        replaces.set(created.id, p.moveOf);
        logger.info('moving replica', { replica: p.moveOf, copy: created.id, gpu: id, reason: p.reason });
      }
    } catch (err) {
      logger.warn('replica create failed', { model: set.labelOf(p), gpu: id, err });
    }
  }

  return {
    existing: (replicas) => plannerView(replicas, removing, replaces, outdated),
    async act(result, replicas, gpus) {
      const byId = new Map(replicas.map((r) => [r.id, r]));
      for (const r of replicas)
        if (r.phase === 'failed')
          drainAndRemove(r.id, set.labelOf(r), r.lastFailure?.message ?? 'failed', false);
      for (const { replica, reason } of result.removed)
        drainAndRemove(replica.id, set.labelOf(replica), reason, byId.get(replica.id)?.url != null);
      // One starting replica per GPU at a time: its footprint is the GPU's used-memory delta.
      const busy = startingOn(replicas);
      for (const p of result.replicas) {
        if (p.existingId) continue;
        const id = gpuId({ node: p.node, index: p.gpuIndex });
        if (busy.has(id)) continue;
        if (!p.moveOf && holdsBack(set.labelOf(p))) continue;
        busy.add(id);
        await create(p, gpus);
      }
    },
  };
}

/** A replica's hash against its model's today: outdated when they differ (not when it keeps none). */
function isOutdated(r: ManagedReplica, set: ModelSet, specHashOf: ActuatorOptions['specHashOf']): boolean {
  const model = set.find(r.model, r.version);
  return (
    r.specHash !== undefined &&
    model !== undefined &&
    specHashOf !== undefined &&
    r.specHash !== specHashOf(model)
  );
}

/** What the orchestrator is asked to start for one placed replica. */
function replicaRequest(
  p: PlacedReplica,
  gpus: Gpu[],
  set: ModelSet,
  batches: BatchChoices,
  specHashOf: ActuatorOptions['specHashOf'],
): ReplicaRequest {
  const model = set.find(p.model, p.version)!;
  const gpu = gpus.find((g) => g.node === p.node && g.index === p.gpuIndex)!;
  const maxBatch = set.maxBatch(model, batches);
  return {
    model: p.model,
    version: p.version,
    node: p.node,
    gpuIndex: p.gpuIndex,
    footprintBytes: p.footprintBytes,
    manifest: model.manifest,
    ...(model.onnx ? { onnx: model.onnx } : {}),
    ...(model.pinVersion || set.versioned.includes(model.name) ? { pinVersion: true } : {}),
    ...(maxBatch !== undefined ? { maxBatch } : {}),
    gpuMemoryBytes: gpu.memoryBytes,
    virtual: gpu.virtual ?? false,
    ...(specHashOf ? { specHash: specHashOf(model) } : {}),
  };
}

/** Replicas as the planner sees them; forgets a move's pairing once its copy or original is gone. */
function plannerView(
  replicas: ManagedReplica[],
  removing: ReadonlySet<string>,
  replaces: Map<string, string>,
  outdated: (r: ManagedReplica) => boolean,
): ExistingReplica[] {
  const ids = new Set(replicas.map((r) => r.id));
  for (const [copy, original] of replaces) if (!ids.has(copy) || !ids.has(original)) replaces.delete(copy);
  return replicas
    .filter((r) => r.phase !== 'failed')
    .map((r) => ({
      ...r,
      draining: r.draining || r.phase === 'draining' || removing.has(r.id),
      ready: r.phase === 'ready',
      replaces: replaces.get(r.id) ?? null,
      ...(outdated(r) ? { outdated: true } : {}),
    }));
}
