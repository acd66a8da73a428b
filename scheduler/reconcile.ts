import type { Logger } from '../common/log.js';
import type { PlanView } from '../common/plan-view.js';
import type { Actuator } from './actuator.js';
import type { DesiredCounts } from './demand/desired.js';
import { observeReplicas, type FeedbackModel } from './feedback.js';
import type { Observation } from './observation.js';
import { snapshotOf, type SchedulerMetrics, type SchedulerSnapshot } from './metrics.js';
import type { BatchChoices, ChosenBatch, ModelSet } from './model-set.js';
import type { ManagedReplica, Orchestrator, ReplicaFailure } from './orchestrators/types.js';
import { planPlacement, type PlacementInput, type PlacementResult } from './placement/plan.js';
import { chooseMaxBatches } from './placement/max-batch.js';
import { onePerGpuUtilization } from './placement/one-per-gpu.js';
import { modelPlans, placementInput, type PlanSettings } from './plan-input.js';
import { toPlanView } from './build-plan-view.js';
import type { ProfileStore } from './profiles/store.js';
import type { Rollout } from './rollout.js';
import type { SpecHashes } from './spec-hash.js';
import type { StartupWatch } from './startup-watch.js';
import type { Gpu, ModelPlan } from './types.js';

/** What one pass plans the models with: demand's counts, the chosen max batches, what it observed, profiles. */
export interface PassState {
  /** Wanted replicas per model label (demand/desired.ts). */
  desired: ReadonlyMap<string, number>;
  /** Max batches chosen so far, per model label (placement/max-batch.ts). */
  choices: BatchChoices;
  observed: Observation;
  profiles: ProfileStore;
}

/** The loop's parts a pass uses (scheduler.ts makes them, once for the loop's life). */
export interface LoopParts {
  metrics: SchedulerMetrics;
  settings: PlanSettings;
  set: ModelSet;
  /** Max batches chosen at the first pass that knows the GPUs (placement/max-batch.ts), kept for the loop's life. */
  batches: Map<string, ChosenBatch>;
  desired: DesiredCounts;
  feedbackModels: FeedbackModel[];
  actuator: Actuator;
  rollout: Rollout;
  startup: StartupWatch;
  specHashes: SpecHashes;
}

/** The last death per model version (failureKey → the replica and its failure). */
export type RecentFailures = Map<string, { replica: ManagedReplica; failure: ReplicaFailure }>;

export interface ReconcileOptions {
  inventory: () => Promise<Gpu[]>;
  orchestrator: Orchestrator;
  profiles: ProfileStore;
  isLeader: () => boolean;
  /**
   * The last death per model version (failureKey), shown in the plan view until one of its replicas is
   * ready: a crash loop keeps its cause on /v1/cluster even after the cordon has stopped its replicas.
   */
  failures: RecentFailures;
  logger: Logger;
  now: () => number;
}

/** The key of a model version's last death in ReconcileOptions.failures. */
export const failureKey = (r: { model: string; version: string }): string => `${r.model}@${r.version}`;

/**
 * One pass of the control loop, each call: inventory → observe → demand → max batches → plan → roll → act
 * (when leading) → report. Returns the plan view.
 */
export function createReconcile(options: ReconcileOptions, parts: LoopParts): () => Promise<PlanView> {
  const { inventory, orchestrator, profiles, isLeader, failures, logger, now } = options;
  const { metrics, settings, set, batches, desired, feedbackModels, actuator, rollout, startup } = parts;
  let gpus: Gpu[] = [];
  let snapshot: SchedulerSnapshot | null = null;
  /** The page's comparison figure: planned again only when the GPUs or footprints change. */
  const onePerGpu = onePerGpuUtilization();
  metrics.bind(() => snapshot);

  /** Report: the gauges' snapshot and the plan view. */
  function report(
    result: PlacementResult,
    replicas: ManagedReplica[],
    plans: ModelPlan[],
    state: PassState,
    rollouts: PlanView['rollouts'],
  ): PlanView {
    snapshot = snapshotOf({ gpus, result, replicas, leader: isLeader(), set, batches, ...state });
    for (const r of replicas) if (r.phase === 'ready') failures.delete(failureKey(r));
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

  return async function reconcile(): Promise<PlanView> {
    const end = metrics.reconcileSeconds.startTimer();
    parts.specHashes.newPass();
    gpus = await readInventory(inventory, gpus, logger);
    const replicas = orchestrator.replicas();
    const observed = await observeReplicas(replicas, { models: feedbackModels, profiles, logger });
    await desired.update(observed);
    const state: PassState = { desired: desired.counts, choices: batches, observed, profiles };
    if (gpus.length > 0) settleMaxBatches(parts, gpus, replicas, state, logger);
    const plans = modelPlans(set, state);
    const existing = actuator.existing(replicas);
    const result = planPlacement(
      placementInput(settings, gpus, plans, existing, observed, startup.avoidedNodes()),
    );
    const rollouts = rollout.step(result, existing);
    if (isLeader()) {
      removeOverdue(result, replicas, startup);
      await actuator.act(result, replicas, gpus);
      await profiles.flush().catch((err: unknown) => logger.warn('profile save failed', { err }));
    }
    const view = report(result, replicas, plans, state, rollouts);
    end();
    return view;
  };
}

/** Max batch: once per model, planned at its maxReplicas — the packing asked for, not the demand of now. */
function settleMaxBatches(
  parts: LoopParts,
  gpus: Gpu[],
  replicas: ManagedReplica[],
  state: PassState,
  logger: Logger,
): void {
  const { settings, set, batches, actuator, startup } = parts;
  const existing = actuator.existing(replicas); // the same for every candidate
  const inputFor = (choices: BatchChoices): PlacementInput => {
    const atMax = modelPlans(set, { ...state, choices }, (m) => m.maxReplicas);
    return placementInput(settings, gpus, atMax, existing, state.observed, startup.avoidedNodes());
  };
  const candidates = set.maxBatchesToChoose(batches);
  for (const c of chooseMaxBatches({ candidates, chosen: batches, inputFor, logger })) batches.set(c.key, c);
}

/** Pods that never start: deleted once past their stage's bounded wait (then backed off, node avoided). */
function removeOverdue(
  result: PlacementResult,
  replicas: ManagedReplica[],
  startup: LoopParts['startup'],
): void {
  for (const { replica, reason } of startup.overdue(replicas))
    if (!result.removed.some((x) => x.replica.id === replica.id))
      result.removed.push({ replica, reason: `did not start: ${reason}` });
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
