import type { Logger } from '../common/log.js';
import { createActuator } from './actuator.js';
import type { ClientDemandSource } from './demand/client-demand.js';
import { createDesiredCounts, type DemandSettings } from './demand/desired.js';
import { createGpuHealth, failureFeedback, feedbackModelsOf, type GpuHealth } from './feedback.js';
import { createSchedulerMetrics, type SchedulerMetrics } from './metrics.js';
import { modelSet, type ChosenBatch, type SchedulerModel } from './model-set.js';
import type { Orchestrator, OrchestratorEvent } from './orchestrators/types.js';
import { passRunner, type Scheduler } from './pass-runner.js';
import { DEFAULT_POLICY, type Policy } from './placement/policy.js';
import type { PlanSettings } from './plan-input.js';
import type { ProfileStore } from './profiles/store.js';
import { createReconcile, failureKey, type LoopParts, type RecentFailures } from './reconcile.js';
import { createRollout } from './rollout.js';
import { createSpecHashes } from './spec-hash.js';
import { createStartupWatch, DEFAULT_STARTUP_BUDGETS, type StartupBudgets } from './startup-watch.js';
import type { Gpu } from './types.js';

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

/**
 * The scheduler's control loop. Desired state comes from the whole-cluster plan; the diff with what runs
 * becomes actions (actuator.ts): create (one starting replica per GPU at a time, so each footprint can be
 * measured as the GPU's used-memory delta), move (a copy first, the original drained once the copy is
 * ready), and drain → delete. Failures feed back (feedback.ts): OOM raises the model's footprint for that GPU
 * product, repeated crashes cordon the GPU.
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const { inventory, orchestrator, profiles, isLeader = () => true, logger, now = Date.now } = options;
  const parts = loopParts(options);
  const { metrics, settings, feedbackModels, startup } = parts;
  const failures: RecentFailures = new Map();
  const reconcile = createReconcile(
    { inventory, orchestrator, profiles, isLeader, failures, logger, now },
    parts,
  );
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
      failures.set(failureKey(event.replica), { replica: event.replica, failure: event.failure });
    onFailure(event);
    if (event.type === 'failed' && event.failure.kind === 'not-started')
      startup.recordFailure(event.replica, event.failure.stage ?? 'schedule', event.failure.message);
  };
  return passRunner({ pass: reconcile, orchestrator, onEvent, metrics, logger });
}

/** The loop's parts, with the options' defaults. */
function loopParts(options: SchedulerOptions): LoopParts {
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
  const specHashes = createSpecHashes(
    () => orchestrator.runtimeSpec?.(),
    (m) => set.maxBatch(m, batches),
  );
  const actuator = createActuator({
    orchestrator,
    set,
    batches,
    metrics,
    logger,
    now,
    drainTimeoutMs: options.drainTimeoutMs ?? 60_000,
    readyTimeoutMs,
    specHashOf: specHashes.of,
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
    specHashes,
  };
}
