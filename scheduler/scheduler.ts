import type { Logger } from '../common/log.js';
import type { PlanView } from '../common/plan-view.js';
import { createActuator } from './actuator.js';
import type { ClientDemandSource } from './demand/client-demand.js';
import { createDesiredCounts, type DemandSettings } from './demand/desired.js';
import {
  createGpuHealth,
  failureFeedback,
  feedbackModelsOf,
  observeReplicas,
  type GpuHealth,
} from './feedback.js';
import {
  createSchedulerMetrics,
  snapshotOf,
  type SchedulerMetrics,
  type SchedulerSnapshot,
} from './metrics.js';
import { modelSet, type BatchChoices, type ChosenBatch, type SchedulerModel } from './model-set.js';
import type {
  ManagedReplica,
  Orchestrator,
  OrchestratorEvent,
  ReplicaFailure,
} from './orchestrators/types.js';
import { passRunner } from './pass-runner.js';
import { planPlacement, type PlacementInput, type PlacementResult } from './placement/plan.js';
import { DEFAULT_POLICY, type Policy } from './placement/policy.js';
import { chooseMaxBatches } from './placement/max-batch.js';
import { onePerGpuUtilization } from './placement/one-per-gpu.js';
import { modelPlans, placementInput, type PlanSettings } from './plan-input.js';
import { toPlanView } from './build-plan-view.js';
import type { ProfileStore } from './profiles/store.js';
import { createRollout } from './rollout.js';
import { replicaSpecHash } from './spec-hash.js';
import { createStartupWatch, DEFAULT_STARTUP_BUDGETS, type StartupBudgets } from './startup-watch.js';
import type { Gpu, ModelPlan } from './types.js';

export type { SchedulerModel } from './model-set.js';

export interface SchedulerOptions {
  models: SchedulerModel[];
  inventory: () => Promise<Gpu[]>;
  orchestrator: Orchestrator;
  profiles: ProfileStore;
  policy?: Policy;
  reserveBytes?: number;
  maxReplicasPerGpu?: number;
  /** null: replica counts stay at initialReplicas (the local stack's fixed `--models shapes=3`). */
  demand?: DemandSettings;
  /** What clients see at the gateway (queue, p95) per model, as a second demand signal. */
  clientDemand?: ClientDemandSource;
  /** Only the leader acts; others plan and serve /v1/plan. Default: always leader. */
  isLeader?: () => boolean;
  drainTimeoutMs?: number;
  /** A starting replica blocks the next one on its GPU until ready or this long. */
  readyTimeoutMs?: number;
  /** Rollouts (rollout.ts): per model, at most this many drained before their replacement is ready. Default 1. */
  maxUnavailable?: number;
  /** Bounded waits per startup stage (startup-watch.ts); warm-up defaults to readyTimeoutMs. */
  startupBudgets?: Partial<StartupBudgets>;
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

/**
 * The scheduler's control loop. Desired state comes from the whole-cluster plan; the diff with what runs
 * becomes actions (actuator.ts): create (one starting replica per GPU at a time, so each footprint can be
 * measured as the GPU's used-memory delta), move (a copy first, the original drained once the copy is
 * ready), and drain → delete. Failures feed back (feedback.ts): OOM raises the model's footprint for that GPU
 * product, repeated crashes cordon the GPU.
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const { inventory, orchestrator, profiles, isLeader = () => true, logger, now = Date.now } = options;
  const { metrics, settings, set, batches, desired, feedbackModels, actuator, rollout, startup } =
    loopParts(options);
  let gpus: Gpu[] = [];
  let snapshot: SchedulerSnapshot | null = null;
  /** The page's comparison figure: planned again only when the GPUs or footprints change. */
  const onePerGpu = onePerGpuUtilization();
  metrics.bind(() => snapshot);
  /**
   * The last death per model version (`model@version`), shown in the plan view until one of its replicas is
   * ready: a crash loop keeps its cause on /v1/cluster even after the cordon has stopped its replicas.
   */
  const failures = new Map<string, { replica: ManagedReplica; failure: ReplicaFailure }>();

  /** Max batch: once per model, planned at its maxReplicas — the packing asked for, not the demand of now. */
  function settleMaxBatches(replicas: ManagedReplica[], state: PassState): void {
    const inputFor = (choices: BatchChoices): PlacementInput => {
      const atMax = modelPlans(set, { ...state, choices }, (m) => m.maxReplicas);
      return placementInput(
        settings,
        gpus,
        atMax,
        actuator.existing(replicas),
        state.observed,
        startup.avoidedNodes(),
      );
    };
    const candidates = set.maxBatchesToChoose(batches);
    for (const c of chooseMaxBatches({ candidates, chosen: batches, inputFor, logger }))
      batches.set(c.key, c);
  }

  /** Report: the gauges' snapshot and the plan view. */
  function report(
    result: PlacementResult,
    replicas: ManagedReplica[],
    plans: ModelPlan[],
    state: PassState,
    rollouts: PlanView['rollouts'],
  ): PlanView {
    snapshot = snapshotOf({ gpus, result, replicas, leader: isLeader(), set, batches, ...state });
    for (const r of replicas) if (r.phase === 'ready') failures.delete(`${r.model}@${r.version}`);
    const view = toPlanView({
      failures: [...failures.values()],
      result,
      replicas,
      desired: state.desired,
      reserveBytes: settings.reserveBytes,
      utilization: state.observed.utilization,
      seedMemoryUtilization: onePerGpu(gpus, plans, settings.reserveBytes),
      now: now(),
    });
    return { ...view, rollouts: rollouts ?? [], ...startup.view(replicas) };
  }

  async function pass(): Promise<PlanView> {
    const end = metrics.reconcileSeconds.startTimer();
    gpus = await readInventory(inventory, gpus, logger);
    const replicas = orchestrator.replicas();
    const observed = await observeReplicas(replicas, { models: feedbackModels, profiles, logger });
    await desired.update(observed);
    const state: PassState = { desired: desired.counts, choices: batches, observed, profiles };
    if (gpus.length > 0) settleMaxBatches(replicas, state);
    const plans = modelPlans(set, state);
    const existing = actuator.existing(replicas);
    const result = planPlacement(
      placementInput(settings, gpus, plans, existing, observed, startup.avoidedNodes()),
    );
    const rollouts = rollout.step(result, existing);
    if (isLeader()) {
      // Pods that never start: deleted once past their stage's bounded wait (then backed off, node avoided).
      for (const { replica, reason } of startup.overdue(replicas))
        if (!result.removed.some((x) => x.replica.id === replica.id))
          result.removed.push({ replica, reason: `did not start: ${reason}` });
      await actuator.act(result, replicas, gpus);
      await profiles.flush().catch((err: unknown) => logger.warn('profile save failed', { err }));
    }
    const view = report(result, replicas, plans, state, rollouts);
    end();
    return view;
  }

  const onFailure = failureFeedback({
    models: feedbackModels,
    profiles,
    gpuHealth: settings.gpuHealth,
    metrics,
    isLeader,
    logger,
  });
  const onEvent = (event: OrchestratorEvent): void => {
    if (event.type === 'failed')
      failures.set(`${event.replica.model}@${event.replica.version}`, {
        replica: event.replica,
        failure: event.failure,
      });
    onFailure(event);
    if (event.type === 'failed' && event.failure.kind === 'not-started')
      startup.recordFailure(event.replica, event.failure.stage ?? 'schedule', event.failure.message);
  };
  return passRunner({ pass, orchestrator, onEvent, metrics, logger });
}

type PassState = Parameters<typeof modelPlans>[1];

/** The loop's parts, with the options' defaults. */
function loopParts(options: SchedulerOptions) {
  const { orchestrator, logger, now = Date.now } = options;
  const metrics = options.metrics ?? createSchedulerMetrics();
  const settings: PlanSettings = {
    policy: options.policy ?? DEFAULT_POLICY,
    reserveBytes: options.reserveBytes ?? 512 * 1024 ** 2,
    maxReplicasPerGpu: options.maxReplicasPerGpu ?? 0,
    gpuHealth: options.gpuHealth ?? createGpuHealth(),
  };
  const set = modelSet(options.models);
  /** Max batches chosen at the first pass that knows the GPUs (placement/max-batch.ts), kept for the loop's life. */
  const batches = new Map<string, ChosenBatch>();
  const { clientDemand, demand = null } = options;
  const desired = createDesiredCounts({ set, demand, clientDemand, logger, now });
  const readyTimeoutMs = options.readyTimeoutMs ?? 600_000;
  const startup = createStartupWatch({
    budgets: { ...DEFAULT_STARTUP_BUDGETS, warmupMs: readyTimeoutMs, ...options.startupBudgets },
    labelOf: (r) => set.labelOf(r),
    now,
    logger,
  });
  const actuator = createActuator({
    orchestrator,
    set,
    batches,
    metrics,
    logger,
    now,
    drainTimeoutMs: options.drainTimeoutMs ?? 60_000,
    readyTimeoutMs,
    specHashOf: (m) => replicaSpecHash(orchestrator.runtimeSpec?.(), m, set.maxBatch(m, batches)),
    holdsBack: (label) => startup.holdsBack(label),
  });
  const rollout = createRollout({
    maxUnavailable: options.maxUnavailable ?? 1,
    reserveBytes: settings.reserveBytes,
    maxReplicasPerGpu: settings.maxReplicasPerGpu,
    labelOf: (r) => set.labelOf(r),
    logger,
  });
  return {
    metrics,
    settings,
    set,
    batches,
    desired,
    feedbackModels: feedbackModelsOf(set, batches),
    actuator,
    rollout,
    startup,
  };
}

/** The GPUs now; the last ones, with a warning, when the inventory fails. */
async function readInventory(inventory: () => Promise<Gpu[]>, last: Gpu[], logger: Logger): Promise<Gpu[]> {
  try {
    return await inventory();
  } catch (err) {
    logger.warn('GPU inventory failed; keeping the last one', { err });
    return last;
  }
}
