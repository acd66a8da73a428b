import type { PlanStartFailure, PlanStarting } from '../common/plan-view.js';
import type { Logger } from '../common/log.js';
import type { ManagedReplica, StartupStage } from './orchestrators/types.js';

/** How long each startup stage may take before the replica is deleted and tried again (ms). */
export interface StartupBudgets {
  /** Bound to a node and taken up by its kubelet (or scheduled). */
  scheduleMs: number;
  /** Image pull and container creation (the seed's 18.5 GB image took ~19 min on a fresh node). */
  pullMs: number;
  /** The model-fetch init container (a 900 MB file over a slow link). */
  fetchMs: number;
  /** From the replica container's start to ready (the chart's warm-up budget). */
  warmupMs: number;
  /** A stage stuck on an error reason (ImagePullBackOff, CreateContainerConfigError, Unschedulable…). */
  stuckMs: number;
  /** A model's next try after a failed start: this × 2^(failures in a row − 1), at most 5 min. */
  backoffMs: number;
}

export const DEFAULT_STARTUP_BUDGETS: StartupBudgets = {
  scheduleMs: 5 * 60_000,
  pullMs: 30 * 60_000,
  fetchMs: 30 * 60_000,
  warmupMs: 15 * 60_000,
  stuckMs: 5 * 60_000,
  backoffMs: 10_000,
};

export interface StartupWatchOptions {
  budgets: StartupBudgets;
  backoffMaxMs?: number;
  /** A node where a start failed for the node's sake (schedule, image pull) takes nothing new this long. */
  avoidNodeMs?: number;
  labelOf: (r: { model: string; version: string }) => string;
  now: () => number;
  logger: Logger;
}

export interface StartupWatch {
  /** Replicas past their stage's bounded wait, with why: to delete. Each is recorded as a failed start. */
  overdue(replicas: ManagedReplica[]): { replica: ManagedReplica; reason: string }[];
  /** A start that failed (a pod Failed before its replica ran, or overdue). */
  recordFailure(replica: ManagedReplica, stage: StartupStage, reason: string): void;
  /** Whether a model (label) waits out its back-off before its next new replica. */
  holdsBack(label: string): boolean;
  /** Nodes avoided for now (no new replicas). */
  avoidedNodes(): string[];
  view(replicas: ManagedReplica[]): { starting: PlanStarting[]; startFailures: PlanStartFailure[] };
}

const limitOf = (budgets: StartupBudgets, stage: StartupStage): number =>
  ({
    schedule: budgets.scheduleMs,
    pull: budgets.pullMs,
    fetch: budgets.fetchMs,
    'warm-up': budgets.warmupMs,
  })[stage];

/** A stuck stage is the node's fault when the node could not take or pull the pod; a spec's otherwise. */
const nodeFault = (stage: StartupStage, reason: string): boolean =>
  stage === 'schedule' || (stage === 'pull' && !/CreateContainer|RunContainer/.test(reason));

/** Where a starting replica is: its stage, since when, and the error reason it waits on (if any). */
interface StageNow {
  stage: StartupStage;
  since: number;
  reason: string | null;
}

function stageOf(r: ManagedReplica): StageNow | null {
  if (r.phase !== 'pending' && r.phase !== 'starting') return null;
  return r.startup ?? null;
}

/**
 * Why a replica is past its bounded wait at `t`, or null: stuck on one error reason for `stuckMs` (counted in
 * `stuckSince`, updated here), or longer than its stage's budget.
 */
function overdueReason(
  id: string,
  s: StageNow,
  t: number,
  stuckSince: Map<string, { reason: string; at: number }>,
  budgets: StartupBudgets,
): string | null {
  if (s.reason) {
    const seen = stuckSince.get(id);
    // the kubelet gives no time for a waiting reason: counted from when this watch first saw it
    const at = seen?.reason === s.reason ? seen.at : t;
    if (seen?.reason !== s.reason) stuckSince.set(id, { reason: s.reason, at });
    if (t - at >= budgets.stuckMs) return `${s.stage}: ${s.reason} for ${Math.round((t - at) / 1000)} s`;
  } else stuckSince.delete(id);
  const limit = limitOf(budgets, s.stage);
  return t - s.since >= limit ? `${s.stage} took longer than ${Math.round(limit / 1000)} s` : null;
}

function startingView(
  r: ManagedReplica,
  s: StageNow,
  t: number,
  model: string,
  budgets: StartupBudgets,
): PlanStarting {
  return {
    replicaId: r.id,
    model,
    node: r.node,
    gpuIndex: r.gpuIndex,
    stage: s.stage,
    reason: s.reason,
    seconds: Math.max(0, Math.round((t - s.since) / 1000)),
    limitSeconds: Math.round((s.reason ? budgets.stuckMs : limitOf(budgets, s.stage)) / 1000),
  };
}

/** A model's last failed start: how many in a row, when, its next try, where and why. */
interface StartFailure {
  inRow: number;
  at: number;
  retryAt: number;
  node: string;
  reason: string;
}

function startFailureView(
  model: string,
  f: StartFailure,
  nodeAvoidedUntil: number | undefined,
  t: number,
): PlanStartFailure {
  return {
    model,
    node: f.node,
    reason: f.reason,
    at: new Date(f.at).toISOString(),
    retryAt: new Date(f.retryAt).toISOString(),
    nodeAvoidedUntil:
      nodeAvoidedUntil && nodeAvoidedUntil > t ? new Date(nodeAvoidedUntil).toISOString() : null,
  };
}

/**
 * Pods that never start: each stage (schedule, pull, fetch, warm-up) gets a bounded wait, a stage stuck on an
 * error reason a shorter one; past it the replica is deleted, the model backs off before its next try
 * (doubling per failure in a row, reset once one of its replicas is ready), and a node that could not take
 * or pull it is avoided for a while, so one bad node does not eat the model.
 * One closure: the stuck times, failures and avoided nodes are state its short methods share.
 */
export function createStartupWatch(options: StartupWatchOptions): StartupWatch {
  const { budgets, backoffMaxMs = 5 * 60_000, avoidNodeMs = 10 * 60_000 } = options;
  const backoffBaseMs = budgets.backoffMs;
  const { labelOf, now, logger } = options;
  /** When each replica was first seen stuck on its current error reason. */
  const stuckSince = new Map<string, { reason: string; at: number }>();
  const failures = new Map<string, StartFailure>();
  const avoided = new Map<string, number>();
  /** Replicas already found overdue (deleted by now, or soon): recorded once. */
  const reported = new Set<string>();

  const watch: StartupWatch = {
    overdue(replicas) {
      const t = now();
      const present = new Set(replicas.map((r) => r.id));
      for (const id of stuckSince.keys()) if (!present.has(id)) stuckSince.delete(id);
      for (const id of reported) if (!present.has(id)) reported.delete(id);
      // A ready replica started after the last failure ends the model's back-off.
      for (const r of replicas) {
        const f = failures.get(labelOf(r));
        if (f && r.phase === 'ready' && r.startedAt > f.at) failures.delete(labelOf(r));
      }
      const late: { replica: ManagedReplica; reason: string }[] = [];
      for (const r of replicas) {
        const s = stageOf(r);
        if (!s || reported.has(r.id)) continue;
        const reason = overdueReason(r.id, s, t, stuckSince, budgets);
        if (reason) {
          reported.add(r.id);
          late.push({ replica: r, reason });
          watch.recordFailure(r, s.stage, s.reason ?? reason);
        }
      }
      return late;
    },
    recordFailure(replica, stage, reason) {
      const t = now();
      const label = labelOf(replica);
      const inRow = (failures.get(label)?.inRow ?? 0) + 1;
      const retryAt = t + Math.min(backoffMaxMs, backoffBaseMs * 2 ** (inRow - 1));
      failures.set(label, { inRow, at: t, retryAt, node: replica.node, reason: `${stage}: ${reason}` });
      const avoid = nodeFault(stage, reason);
      if (avoid) avoided.set(replica.node, t + avoidNodeMs);
      logger.warn('replica did not start', {
        replica: replica.id,
        model: label,
        node: replica.node,
        stage,
        reason,
        retryInMs: retryAt - t,
        ...(avoid ? { nodeAvoidedForMs: avoidNodeMs } : {}),
      });
    },
    holdsBack: (label) => (failures.get(label)?.retryAt ?? 0) > now(),
    avoidedNodes() {
      const t = now();
      return [...avoided]
        .filter(([, until]) => until > t)
        .map(([n]) => n)
        .sort();
    },
    view(replicas) {
      const t = now();
      const starting: PlanStarting[] = [];
      for (const r of replicas) {
        const s = stageOf(r);
        if (s) starting.push(startingView(r, s, t, labelOf(r), budgets));
      }
      const startFailures = [...failures].map(([model, f]) =>
        startFailureView(model, f, avoided.get(f.node), t),
      );
      return { starting, startFailures };
    },
  };
  return watch;
}
