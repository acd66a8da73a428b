import type { Logger } from '../common/log.js';
import type { PlanView } from '../common/plan-view.js';
import { createAutoscaler } from './demand/autoscale.js';
import type { ClientDemand, ClientDemandSource } from './demand/client-demand.js';
import {
  createGpuHealth,
  failureFeedback,
  observeReplicas,
  type GpuHealth,
  type Observation,
} from './feedback.js';
import { createSchedulerMetrics, type SchedulerMetrics, type SchedulerSnapshot } from './metrics.js';
import type { ManagedReplica, Orchestrator } from './orchestrators/types.js';
import { chooseMaxBatch, type BatchFootprint } from './placement/batch-tradeoff.js';
import { planPlacement, type PlacementInput, type PlacementResult } from './placement/plan.js';
import { DEFAULT_POLICY, type Policy } from './placement/policy.js';
import { seedSetup } from './placement/seed.js';
import { toPlanView } from './plan-view.js';
import type { ProfileStore } from './profiles/store.js';
import {
  gpuId,
  modelLabel,
  versionedNames,
  type ExistingReplica,
  type Gpu,
  type ModelPlan,
} from './types.js';

/** A model the scheduler keeps running. */
export interface SchedulerModel {
  name: string;
  version: string;
  /**
   * Footprint counted per replica until one is measured: what the manifest declares for the max batch its
   * replicas run with (models/manifest/memory.ts; the scheduler updates it when it chooses the max batch).
   */
  declaredBytes: number;
  /**
   * The manifest's footprint per max batch (memory.byMaxBatch). With it and no `maxBatch`, the scheduler
   * chooses the max batch at its first pass that knows the GPUs (placement/batch-tradeoff.ts: the largest
   * that keeps the packing) and keeps it.
   */
  footprintByMaxBatch?: readonly BatchFootprint[];
  /** The max batch replicas run with (`--max-batch`): set by the user or chosen; undefined = the manifest's. */
  maxBatch?: number;
  /** Manifest folder as the replica sees it (inside the image on Kubernetes). */
  manifest: string;
  onnx?: string;
  minReplicas: number;
  maxReplicas: number;
  /** Replicas to start with (default minReplicas). */
  initialReplicas?: number;
  targetInFlightPerReplica: number;
  /** Client-side p95 latency (seconds) above which demand adds a replica. */
  targetP95Seconds?: number;
  /**
   * This version's share of the model's unversioned traffic (the gateway's `versions.split` weight): the
   * gateway's queue for the model is split between its versions by these weights when every version has one
   * (else by the split the gateway reports, else equally).
   */
  trafficWeight?: number;
  /**
   * The replica is told its version (`--model-version`) instead of reading the manifest's, and its name
   * carries it: set when the configuration names the version, and for every version of a model planned twice.
   */
  pinVersion?: boolean;
}

export interface SchedulerOptions {
  models: SchedulerModel[];
  inventory: () => Promise<Gpu[]>;
  orchestrator: Orchestrator;
  profiles: ProfileStore;
  policy?: Policy;
  reserveBytes?: number;
  maxReplicasPerGpu?: number;
  /** null: replica counts stay at initialReplicas (the local stack's fixed `--models shapes=3`). */
  demand?: { intervalMs: number; scaleUpCooldownMs: number; scaleDownCooldownMs: number } | null;
  /** What clients see at the gateway (queue, p95) per model, as a second demand signal. */
  clientDemand?: ClientDemandSource;
  /** Only the leader acts; others plan and serve /v1/plan. Default: always leader. */
  isLeader?: () => boolean;
  drainTimeoutMs?: number;
  /** A starting replica blocks the next one on its GPU until ready or this long. */
  readyTimeoutMs?: number;
  gpuHealth?: GpuHealth;
  metrics?: SchedulerMetrics;
  logger: Logger;
  now?: () => number;
}

export interface Scheduler {
  /** One pass: inventory → observe → demand → plan → act (when leading). */
  reconcile(): Promise<PlanView>;
  /** The latest plan, null before the first pass. */
  plan(): PlanView | null;
  /** Reconciles every intervalMs and soon after the orchestrator reports a change. */
  start(intervalMs: number): void;
  stop(): Promise<void>;
  metrics: SchedulerMetrics;
}

const PHASES = ['pending', 'starting', 'ready', 'draining', 'failed'] as const;

/**
 * The scheduler's control loop. Desired state comes from the whole-cluster plan; the diff with what runs
 * becomes actions: create (one starting replica per GPU at a time, so each footprint can be measured as the
 * GPU's used-memory delta), move (a copy first, the original drained once the copy is ready), and
 * drain → delete. Failures feed back (feedback.ts): OOM raises the model's footprint for that GPU product,
 * repeated crashes cordon the GPU.
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const {
    models: configured,
    inventory,
    orchestrator,
    profiles,
    policy = DEFAULT_POLICY,
    reserveBytes = 512 * 1024 ** 2,
    maxReplicasPerGpu = 0,
    demand = null,
    clientDemand,
    isLeader = () => true,
    drainTimeoutMs = 60_000,
    readyTimeoutMs = 600_000,
    gpuHealth = createGpuHealth(),
    metrics = createSchedulerMetrics(),
    logger,
    now = Date.now,
  } = options;
  // Own copies: choosing a max batch updates a model's maxBatch and declaredBytes (chooseBatches below).
  const models: SchedulerModel[] = configured.map((m) => ({ ...m }));
  // Each model version is planned on its own: `codetr`, or `codetr@1` and `codetr@2` side by side.
  const versioned = versionedNames(models);
  const labelOf = (m: { name: string; version: string } | { model: string; version: string }): string =>
    modelLabel('name' in m ? m.name : m.model, m.version, versioned);
  const desired = new Map(
    models.map((m) => [
      labelOf(m),
      Math.min(m.maxReplicas, Math.max(m.minReplicas, m.initialReplicas ?? m.minReplicas)),
    ]),
  );
  const feedbackModels = models.map((m) => ({
    name: m.name,
    version: m.version,
    label: labelOf(m),
    // read when used: choosing a max batch changes it
    get declaredBytes() {
      return m.declaredBytes;
    },
  }));
  const autoscaler = demand ? createAutoscaler({ ...demand, now }) : null;
  let lastDemandAt = -Infinity;
  let gpus: Gpu[] = [];
  let current: PlanView | null = null;
  let snapshot: SchedulerSnapshot | null = null;
  metrics.bind(() => snapshot);
  const removing = new Set<string>();
  /** A move's copy (by its id) → the replica it replaces. In memory: after a restart a copy is just surplus. */
  const replaces = new Map<string, string>();
  let running: Promise<PlanView> | null = null;
  let timer: NodeJS.Timeout | undefined;
  let soon: NodeJS.Timeout | undefined;
  let stopped = false;

  const onFailure = failureFeedback({
    models: feedbackModels,
    profiles,
    gpuHealth,
    metrics,
    isLeader,
    logger,
  });
  const unsubscribe = orchestrator.on((event) => {
    onFailure(event);
    if (!stopped && !soon)
      soon = setTimeout(() => ((soon = undefined), void scheduler.reconcile().catch(() => undefined)), 100);
  });

  const modelPlans = (observed: Observation): ModelPlan[] =>
    models.map((m) => {
      const busy = observed.modelBusy.get(labelOf(m));
      return {
        name: m.name,
        version: m.version,
        footprintBytes: (gpu: Gpu) => profiles.footprint(labelOf(m), gpu.product, m.declaredBytes),
        minReplicas: m.minReplicas,
        desiredReplicas: desired.get(labelOf(m))!,
        ...(busy !== undefined ? { busyPerReplica: busy } : {}),
      };
    });

  async function readClientDemand(): Promise<Map<string, ClientDemand>> {
    if (!clientDemand) return new Map();
    return clientDemand().catch((err: unknown) => {
      logger.warn('client demand unavailable; replicas only this pass', { err });
      return new Map<string, ClientDemand>();
    });
  }

  async function updateDemand(observed: Observation): Promise<void> {
    if (!autoscaler || !demand || now() - lastDemandAt < demand.intervalMs) return;
    lastDemandAt = now();
    const clients = await readClientDemand();
    for (const m of models) {
      const label = labelOf(m);
      const l = observed.load.get(label)!;
      const c = clients.get(label) ?? versionShare(m, clients.get(m.name));
      const { replicas, reason } = autoscaler.desired({
        model: label,
        current: desired.get(label)!,
        inFlight: l.inFlight,
        readyReplicas: l.ready,
        minReplicas: m.minReplicas,
        maxReplicas: m.maxReplicas,
        targetInFlightPerReplica: m.targetInFlightPerReplica,
        queued: c?.queued ?? 0,
        p95Seconds: c?.p95Seconds ?? null,
        ...(m.targetP95Seconds !== undefined ? { targetP95Seconds: m.targetP95Seconds } : {}),
      });
      if (replicas !== desired.get(label)) {
        logger.info('demand changed', { model: label, from: desired.get(label), to: replicas, reason });
        desired.set(label, replicas);
      }
    }
  }

  /**
   * A version's part of its model's client demand when the gateway reports it per model only: the queue
   * split by the versions' traffic weights — `trafficWeight` when every version has one, else the split the
   * gateway reports (`splitShare`), else equal shares; the p95 is the model's, for each.
   */
  function versionShare(m: SchedulerModel, c: ClientDemand | undefined): ClientDemand | undefined {
    if (!c || !versioned.includes(m.name)) return c;
    const siblings = models.filter((x) => x.name === m.name);
    const configured = siblings.every((x) => x.trafficWeight !== undefined);
    const weightOf = (x: SchedulerModel): number =>
      configured ? (x.trafficWeight ?? 0) : (c.versionShares?.get(x.version) ?? (c.versionShares ? 0 : 1));
    const total = siblings.reduce((sum, x) => sum + weightOf(x), 0);
    const share = total > 0 ? weightOf(m) / total : 1 / siblings.length;
    return { queued: Math.ceil(c.queued * share), p95Seconds: c.p95Seconds };
  }

  /** What runs, as the planner sees it: removals in progress still hold memory; moves pair copy and original. */
  function existingReplicas(replicas: ManagedReplica[]): ExistingReplica[] {
    const ids = new Set(replicas.map((r) => r.id));
    for (const [copy, original] of replaces) if (!ids.has(copy) || !ids.has(original)) replaces.delete(copy);
    return replicas
      .filter((r) => r.phase !== 'failed')
      .map((r) => ({
        ...r,
        draining: r.draining || r.phase === 'draining' || removing.has(r.id),
        ready: r.phase === 'ready',
        replaces: replaces.get(r.id) ?? null,
      }));
  }

  /**
   * Picks the max batch of every model that declares its footprint per max batch and has none set, once, at
   * the first pass that knows the GPUs: the largest max batch that still places as many replicas as the
   * densest one (batch-tradeoff.ts), each model planned at its maxReplicas — the packing the user asked for (a
   * fixed count, or as many as demand may want), not the demand of the moment. From then on its replicas run with `--max-batch` that, and it counts that
   * batch's declared footprint until a replica has measured one. Kept for the scheduler's life: changing it
   * would mean restarting every replica of the model.
   */
  function chooseBatches(replicas: ManagedReplica[], observed: Observation): void {
    if (gpus.length === 0) return;
    for (const m of models) {
      const table = m.footprintByMaxBatch;
      if (!table?.length || m.maxBatch !== undefined) continue;
      const input: PlacementInput = {
        gpus,
        models: modelPlans(observed).map((p, i) => ({ ...p, desiredReplicas: models[i]!.maxReplicas })),
        existing: existingReplicas(replicas),
        policy,
        reserveBytes,
        maxReplicasPerGpu,
        cordoned: gpuHealth.cordoned(),
        utilization: observed.utilization,
      };
      const choice = chooseMaxBatch(input, m.name, table);
      m.maxBatch = choice.chosen;
      m.declaredBytes = table.find((t) => t.maxBatch === choice.chosen)!.footprintBytes;
      logger.info('max batch chosen', {
        model: m.name,
        maxBatch: m.maxBatch,
        declaredBytes: m.declaredBytes,
        reason: choice.reason,
      });
    }
  }

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

  async function act(result: PlacementResult, replicas: ManagedReplica[]): Promise<void> {
    const byId = new Map(replicas.map((r) => [r.id, r]));
    for (const r of replicas)
      if (r.phase === 'failed') drainAndRemove(r.id, labelOf(r), r.lastFailure?.message ?? 'failed', false);
    for (const { replica, reason } of result.removed)
      drainAndRemove(replica.id, labelOf(replica), reason, byId.get(replica.id)?.url != null);

    // One starting replica per GPU at a time: its footprint is the GPU's used-memory delta.
    const busy = new Set(
      replicas
        .filter(
          (r) => (r.phase === 'pending' || r.phase === 'starting') && now() - r.startedAt < readyTimeoutMs,
        )
        .map((r) => gpuId({ node: r.node, index: r.gpuIndex })),
    );
    for (const p of result.replicas) {
      if (p.existingId) continue;
      const id = gpuId({ node: p.node, index: p.gpuIndex });
      if (busy.has(id)) continue;
      busy.add(id);
      const model = models.find((m) => m.name === p.model && m.version === p.version)!;
      const gpu = gpus.find((g) => g.node === p.node && g.index === p.gpuIndex)!;
      metrics.actions.inc({ type: p.moveOf ? 'move' : 'create', model: labelOf(p) });
      try {
        const created = await orchestrator.create({
          model: p.model,
          version: p.version,
          node: p.node,
          gpuIndex: p.gpuIndex,
          product: gpu.product,
          footprintBytes: p.footprintBytes,
          manifest: model.manifest,
          ...(model.onnx ? { onnx: model.onnx } : {}),
          ...(model.pinVersion || versioned.includes(model.name) ? { pinVersion: true } : {}),
          ...(model.maxBatch !== undefined ? { maxBatch: model.maxBatch } : {}),
          gpuMemoryBytes: gpu.memoryBytes,
          virtual: gpu.virtual ?? false,
        });
        if (p.moveOf) {
          replaces.set(created.id, p.moveOf);
          logger.info('moving replica', { replica: p.moveOf, copy: created.id, gpu: id, reason: p.reason });
        }
      } catch (err) {
        logger.warn('replica create failed', { model: labelOf(p), gpu: id, err });
      }
    }
  }

  function snapshotOf(
    result: PlacementResult,
    replicas: ManagedReplica[],
    observed: Observation,
  ): SchedulerSnapshot {
    const products = [...new Set(gpus.map((g) => g.product))];
    return {
      gpus: gpus.length,
      memoryUtilization: result.memoryUtilization,
      leader: isLeader(),
      models: models.map((m) => ({
        name: labelOf(m),
        desired: desired.get(labelOf(m))!,
        unplaced: result.unplaced.find((u) => u.model === labelOf(m))?.count ?? 0,
        footprints: products.map((product) => ({
          product,
          source: profiles.source(labelOf(m), product),
          bytes: profiles.footprint(labelOf(m), product, m.declaredBytes),
        })),
        phases: Object.fromEntries(
          PHASES.map((phase) => [
            phase,
            replicas.filter((r) => labelOf(r) === labelOf(m) && r.phase === phase).length,
          ]),
        ) as SchedulerSnapshot['models'][number]['phases'],
      })),
      gpuUtilization: observed.utilizationSources,
    };
  }

  async function pass(): Promise<PlanView> {
    const end = metrics.reconcileSeconds.startTimer();
    try {
      gpus = await inventory();
    } catch (err) {
      logger.warn('GPU inventory failed; keeping the last one', { err });
    }
    const replicas = orchestrator.replicas();
    const observed = await observeReplicas(replicas, { models: feedbackModels, profiles, logger });
    await updateDemand(observed);
    chooseBatches(replicas, observed);
    const plans = modelPlans(observed);
    const result = planPlacement({
      gpus,
      models: plans,
      existing: existingReplicas(replicas),
      policy,
      reserveBytes,
      maxReplicasPerGpu,
      cordoned: gpuHealth.cordoned(),
      utilization: observed.utilization,
    });
    if (isLeader()) {
      await act(result, replicas);
      await profiles.flush().catch((err: unknown) => logger.warn('profile save failed', { err }));
    }
    snapshot = snapshotOf(result, replicas, observed);
    current = toPlanView({
      result,
      replicas,
      desired,
      reserveBytes,
      utilization: observed.utilization,
      seedMemoryUtilization: seedSetup(gpus, plans, reserveBytes).memoryUtilization,
      now: now(),
    });
    end();
    return current;
  }

  const scheduler: Scheduler = {
    metrics,
    reconcile() {
      // Passes never overlap: a caller during a pass gets that pass's result.
      running ??= pass().finally(() => (running = null));
      return running;
    },
    plan: () => current,
    start(intervalMs) {
      const tick = (): void => {
        void scheduler
          .reconcile()
          .catch((err: unknown) => logger.error('reconcile failed', { err }))
          .finally(() => {
            if (!stopped) timer = setTimeout(tick, intervalMs);
          });
      };
      tick();
    },
    async stop() {
      stopped = true;
      unsubscribe();
      if (timer) clearTimeout(timer);
      if (soon) clearTimeout(soon);
      await running?.catch(() => undefined);
    },
  };
  return scheduler;
}
