import type { Logger } from '../common/log.js';
import type { PlanAction, PlanView } from '../common/plan-view.js';
import { createAutoscaler } from './demand/autoscale.js';
import { createGpuHealth, type GpuHealth } from './feedback.js';
import { createSchedulerMetrics, type SchedulerMetrics } from './metrics.js';
import { fetchReplicaStats } from './orchestrators/drain.js';
import type { ManagedReplica, Orchestrator } from './orchestrators/types.js';
import { planPlacement, type PlacementResult } from './placement/plan.js';
import type { Policy } from './placement/policy.js';
import type { ProfileStore } from './profiles/store.js';
import { gpuId, type Gpu, type ModelPlan } from './types.js';

/** A model the scheduler keeps running. */
export interface SchedulerModel {
  name: string;
  version: string;
  declaredBytes: number;
  /** Manifest folder as the replica sees it (inside the image on Kubernetes). */
  manifest: string;
  onnx?: string;
  minReplicas: number;
  maxReplicas: number;
  /** Replicas to start with (default minReplicas). */
  initialReplicas?: number;
  targetInFlightPerReplica: number;
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
  lastPlacement(): PlacementResult | null;
  /** Reconciles every intervalMs and soon after the orchestrator reports a change. */
  start(intervalMs: number): void;
  stop(): Promise<void>;
  metrics: SchedulerMetrics;
}

/**
 * The scheduler's control loop. Desired state comes from the whole-cluster plan; the diff with what runs
 * becomes actions: create (one starting replica per GPU at a time, so each footprint can be measured as the
 * GPU's used-memory delta), and drain → delete. Failures feed back: OOM raises the model's footprint for
 * that GPU product, repeated crashes cordon the GPU.
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const {
    models,
    inventory,
    orchestrator,
    profiles,
    policy = 'binpack',
    reserveBytes = 512 * 1024 ** 2,
    maxReplicasPerGpu = 0,
    demand = null,
    isLeader = () => true,
    drainTimeoutMs = 60_000,
    readyTimeoutMs = 600_000,
    gpuHealth = createGpuHealth(),
    metrics = createSchedulerMetrics(),
    logger,
    now = Date.now,
  } = options;
  const desired = new Map(
    models.map((m) => [
      m.name,
      Math.min(m.maxReplicas, Math.max(m.minReplicas, m.initialReplicas ?? m.minReplicas)),
    ]),
  );
  const autoscaler = demand ? createAutoscaler({ ...demand, now }) : null;
  let lastDemandAt = -Infinity;
  let gpus: Gpu[] = [];
  let current: PlanView | null = null;
  let placement: PlacementResult | null = null;
  const removing = new Set<string>();
  let running: Promise<PlanView> | null = null;
  let timer: NodeJS.Timeout | undefined;
  let soon: NodeJS.Timeout | undefined;
  let stopped = false;

  const unsubscribe = orchestrator.on((event) => {
    if (event.type === 'failed') {
      const { replica, failure } = event;
      metrics.failures.inc({ model: replica.model, kind: failure.kind });
      if (failure.kind === 'oom') {
        const model = models.find((m) => m.name === replica.model);
        const counted = model
          ? profiles.footprint(model.name, replica.product, model.declaredBytes)
          : replica.footprintBytes;
        const raised = profiles.recordOom(replica.model, replica.product, counted);
        logger.warn('replica died of out-of-memory: footprint raised', {
          replica: replica.id,
          model: replica.model,
          product: replica.product,
          footprintBytes: raised,
        });
        // Every instance learns; only the leader writes (one writer for the ConfigMap).
        if (isLeader())
          void profiles.flush().catch((err: unknown) => logger.warn('profile save failed', { err }));
      } else if (gpuHealth.recordFailure(gpuId({ node: replica.node, index: replica.gpuIndex }), failure)) {
        logger.warn('GPU cordoned after repeated crashes', {
          gpu: gpuId({ node: replica.node, index: replica.gpuIndex }),
        });
      }
    }
    if (!stopped && !soon)
      soon = setTimeout(() => ((soon = undefined), void scheduler.reconcile().catch(() => undefined)), 100);
  });

  const footprintOf = (model: SchedulerModel) => (gpu: Gpu) =>
    profiles.footprint(model.name, gpu.product, model.declaredBytes);

  async function observe(
    replicas: ManagedReplica[],
  ): Promise<Map<string, { inFlight: number; ready: number }>> {
    const load = new Map(models.map((m) => [m.name, { inFlight: 0, ready: 0 }]));
    const measured = replicas.filter((r) => r.url && (r.phase === 'ready' || r.phase === 'starting'));
    const stats = await Promise.all(measured.map((r) => fetchReplicaStats(r.url!, 1500)));
    measured.forEach((r, i) => {
      const s = stats[i];
      if (!s) return;
      if (s.ready && s.footprint.method === 'gpu-used-delta') {
        if (profiles.observe(r.model, r.product, Math.max(s.footprint.bytes, s.footprint.peakBytes))) {
          logger.info('measured footprint', {
            model: r.model,
            product: r.product,
            bytes: s.footprint.bytes,
            peakBytes: s.footprint.peakBytes,
          });
        }
      }
      const l = load.get(r.model);
      if (l && s.ready && s.state === 'ready') {
        l.ready += 1;
        l.inFlight += s.inFlight;
      }
    });
    return load;
  }

  function updateDemand(load: Map<string, { inFlight: number; ready: number }>): void {
    if (!autoscaler || !demand || now() - lastDemandAt < demand.intervalMs) return;
    lastDemandAt = now();
    for (const m of models) {
      const l = load.get(m.name)!;
      const { replicas, reason } = autoscaler.desired({
        model: m.name,
        current: desired.get(m.name)!,
        inFlight: l.inFlight,
        readyReplicas: l.ready,
        minReplicas: m.minReplicas,
        maxReplicas: m.maxReplicas,
        targetInFlightPerReplica: m.targetInFlightPerReplica,
      });
      if (replicas !== desired.get(m.name)) {
        logger.info('demand changed', { model: m.name, from: desired.get(m.name), to: replicas, reason });
        desired.set(m.name, replicas);
      }
    }
  }

  async function act(result: PlacementResult, replicas: ManagedReplica[]): Promise<void> {
    const byId = new Map(replicas.map((r) => [r.id, r]));
    const drainAndRemove = (id: string, model: string, reason: string, drain: boolean): void => {
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
    };
    for (const r of replicas)
      if (r.phase === 'failed') drainAndRemove(r.id, r.model, r.lastFailure?.message ?? 'failed', false);
    for (const { replica, reason } of result.removed)
      drainAndRemove(replica.id, replica.model, reason, byId.get(replica.id)?.url != null);

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
      const model = models.find((m) => m.name === p.model)!;
      const gpu = gpus.find((g) => g.node === p.node && g.index === p.gpuIndex)!;
      metrics.actions.inc({ type: 'create', model: p.model });
      try {
        await orchestrator.create({
          model: p.model,
          version: p.version,
          node: p.node,
          gpuIndex: p.gpuIndex,
          product: gpu.product,
          footprintBytes: p.footprintBytes,
          manifest: model.manifest,
          ...(model.onnx ? { onnx: model.onnx } : {}),
          gpuMemoryBytes: gpu.memoryBytes,
          virtual: gpu.virtual ?? false,
        });
      } catch (err) {
        logger.warn('replica create failed', { model: p.model, gpu: id, err });
      }
    }
  }

  function toView(result: PlacementResult, replicas: ManagedReplica[]): PlanView {
    const actions: PlanAction[] = [];
    for (const r of replicas)
      if (r.phase === 'failed')
        actions.push({
          type: 'delete',
          model: r.model,
          node: r.node,
          gpuIndex: r.gpuIndex,
          replicaId: r.id,
          reason: r.lastFailure?.message ?? 'failed',
        });
    for (const { replica, reason } of result.removed)
      actions.push({
        type: 'drain',
        model: replica.model,
        node: replica.node,
        gpuIndex: replica.gpuIndex,
        replicaId: replica.id,
        reason,
      });
    for (const p of result.replicas.filter((x) => !x.existingId)) {
      actions.push({
        type: 'create',
        model: p.model,
        node: p.node,
        gpuIndex: p.gpuIndex,
        replicaId: null,
        reason: `${p.model}: ${desired.get(p.model)} wanted`,
      });
    }
    return {
      generatedAt: new Date(now()).toISOString(),
      policy,
      memoryUtilization: result.memoryUtilization,
      actions,
      gpus: result.usage.map(({ gpu }) => ({
        node: gpu.node,
        index: gpu.index,
        name: gpu.product,
        memoryTotalBytes: gpu.memoryBytes,
        memoryReservedBytes: reserveBytes,
        virtual: gpu.virtual === true,
      })),
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
    updateDemand(await observe(replicas));
    const plans: ModelPlan[] = models.map((m) => ({
      name: m.name,
      version: m.version,
      footprintBytes: footprintOf(m),
      minReplicas: m.minReplicas,
      desiredReplicas: desired.get(m.name)!,
    }));
    const existing = replicas
      .filter((r) => r.phase !== 'failed' && !removing.has(r.id))
      .map((r) => ({ ...r, draining: r.draining || r.phase === 'draining' }));
    // What is being removed still holds memory until it is gone.
    for (const r of replicas)
      if (removing.has(r.id) && r.phase !== 'failed') existing.push({ ...r, draining: true });
    const result = planPlacement({
      gpus,
      models: plans,
      existing,
      policy,
      reserveBytes,
      maxReplicasPerGpu,
      cordoned: gpuHealth.cordoned(),
    });
    const leader = isLeader();
    metrics.leader.set(leader ? 1 : 0);
    if (leader) {
      await act(result, replicas);
      await profiles.flush().catch((err: unknown) => logger.warn('profile save failed', { err }));
    }

    metrics.gpus.set(gpus.length);
    metrics.memoryUtilization.set(result.memoryUtilization);
    for (const m of models) {
      metrics.desiredReplicas.set({ model: m.name }, desired.get(m.name)!);
      metrics.unplaced.set({ model: m.name }, result.unplaced.find((u) => u.model === m.name)?.count ?? 0);
      for (const product of new Set(gpus.map((g) => g.product))) {
        metrics.footprintBytes.set(
          { model: m.name, product, source: profiles.source(m.name, product) },
          profiles.footprint(m.name, product, m.declaredBytes),
        );
      }
      for (const phase of ['pending', 'starting', 'ready', 'draining', 'failed'] as const) {
        metrics.replicas.set(
          { model: m.name, phase },
          replicas.filter((r) => r.model === m.name && r.phase === phase).length,
        );
      }
    }
    placement = result;
    current = toView(result, replicas);
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
    lastPlacement: () => placement,
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
