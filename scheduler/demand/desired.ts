import type { Logger } from '../../common/log.js';
import type { Observation } from '../observation.js';
import type { ModelSet, SchedulerModel } from '../model-set.js';
import { createAutoscaler } from './autoscale.js';
import type { ClientDemand, ClientDemandSource } from './client-demand.js';

/** How often demand is read, and its cool-downs; null: counts stay at initialReplicas. */
export type DemandSettings = {
  intervalMs: number;
  scaleUpCooldownMs: number;
  scaleDownCooldownMs: number;
} | null;

/** How many replicas each model version wants (by label), as demand moves it. */
export interface DesiredCounts {
  readonly counts: ReadonlyMap<string, number>;
  /** At most every intervalMs: the replicas' load and the gateway's queue → new counts (autoscale.ts). */
  update(observed: Observation): Promise<void>;
}

export function createDesiredCounts(options: {
  set: ModelSet;
  demand: DemandSettings;
  clientDemand?: ClientDemandSource | undefined;
  logger: Logger;
  now: () => number;
}): DesiredCounts {
  const { set, demand, clientDemand, logger, now } = options;
  const counts = new Map(
    set.models.map((m) => [
      set.labelOf(m),
      Math.min(m.maxReplicas, Math.max(m.minReplicas, m.initialReplicas ?? m.minReplicas)),
    ]),
  );
  const autoscaler = demand ? createAutoscaler({ ...demand, now }) : null;
  let lastDemandAt = -Infinity;

  async function readClientDemand(): Promise<Map<string, ClientDemand>> {
    if (!clientDemand) return new Map();
    return clientDemand().catch((err: unknown) => {
      logger.warn('client demand unavailable; replicas only this pass', { err });
      return new Map<string, ClientDemand>();
    });
  }

  return {
    counts,
    async update(observed) {
      if (!autoscaler || !demand || now() - lastDemandAt < demand.intervalMs) return;
      lastDemandAt = now();
      const clients = await readClientDemand();
      for (const m of set.models) {
        const label = set.labelOf(m);
        const l = observed.load.get(label)!;
        const c = clients.get(label) ?? versionShare(set, m, clients.get(m.name));
        const { replicas, reason } = autoscaler.desired({
          model: label,
          current: counts.get(label)!,
          inFlight: l.inFlight,
          readyReplicas: l.ready,
          minReplicas: m.minReplicas,
          maxReplicas: m.maxReplicas,
          targetInFlightPerReplica: m.targetInFlightPerReplica,
          queued: c?.queued ?? 0,
          p95Seconds: c?.p95Seconds ?? null,
          ...(m.targetP95Seconds !== undefined ? { targetP95Seconds: m.targetP95Seconds } : {}),
        });
        if (replicas !== counts.get(label)) {
          logger.info('demand changed', { model: label, from: counts.get(label), to: replicas, reason });
          counts.set(label, replicas);
        }
      }
    },
  };
}

/**
 * A version's part of its model's client demand when the gateway reports it per model only: the queue
 * split by the versions' traffic weights — `trafficWeight` when every version has one, else the split the
 * gateway reports (`splitShare`), else equal shares; the p95 is the model's, for each.
 */
export function versionShare(
  set: ModelSet,
  m: SchedulerModel,
  c: ClientDemand | undefined,
): ClientDemand | undefined {
  if (!c || !set.versioned.includes(m.name)) return c;
  const siblings = set.models.filter((x) => x.name === m.name);
  const configured = siblings.every((x) => x.trafficWeight !== undefined);
  const weightOf = (x: SchedulerModel): number =>
    configured ? (x.trafficWeight ?? 0) : (c.versionShares?.get(x.version) ?? (c.versionShares ? 0 : 1));
  const total = siblings.reduce((sum, x) => sum + weightOf(x), 0);
  const share = total > 0 ? weightOf(m) / total : 1 / siblings.length;
  return { queued: Math.ceil(c.queued * share), p95Seconds: c.p95Seconds };
}
