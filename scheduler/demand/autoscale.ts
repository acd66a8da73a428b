/**
 * Demand: how many replicas a model wants, from what its replicas report (in-flight per replica, which
 * includes their queues) and what clients see at the gateway (requests queued there for a replica, and the
 * p95 latency). Outstanding work (replicas' in-flight + the gateway's queue) above the target per replica →
 * scale up to what the target needs; p95 above the model's latency target → one more; below half the target
 * with nothing queued and latency within target → one fewer. Cool-downs stop flapping; the result stays
 * within [min, max].
 */

export interface DemandInput {
  model: string;
  current: number;
  /** Σ in-flight over the model's ready replicas. */
  inFlight: number;
  readyReplicas: number;
  minReplicas: number;
  maxReplicas: number;
  targetInFlightPerReplica: number;
  /** Requests waiting at the gateway for a replica of this model (0 when the gateway is not asked). */
  queued?: number;
  /** Client-side p95 latency at the gateway, seconds; null when unknown. */
  p95Seconds?: number | null;
  /** Scale up while the p95 is above this; undefined = no latency target. */
  targetP95Seconds?: number;
}

export interface DemandOptions {
  scaleUpCooldownMs: number;
  scaleDownCooldownMs: number;
  now?: () => number;
}

export interface Autoscaler {
  desired(input: DemandInput): { replicas: number; reason: string };
}

export function createAutoscaler(options: DemandOptions): Autoscaler {
  const { scaleUpCooldownMs, scaleDownCooldownMs, now = Date.now } = options;
  const lastChange = new Map<string, number>();
  const clamp = (n: number, i: DemandInput): number => Math.min(i.maxReplicas, Math.max(i.minReplicas, n));
  return {
    desired(input) {
      const current = clamp(input.current, input);
      const queued = input.queued ?? 0;
      const since = now() - (lastChange.get(input.model) ?? -Infinity);
      const change = (replicas: number, reason: string): { replicas: number; reason: string } => {
        lastChange.set(input.model, now());
        return { replicas, reason };
      };
      if (input.readyReplicas === 0) {
        // Clients waiting with no replica serving: the gateway's queue is the only signal there is.
        const needed = clamp(Math.ceil(queued / input.targetInFlightPerReplica), input);
        if (queued > 0 && needed > current && since >= scaleUpCooldownMs)
          return change(needed, `${queued} queued at the gateway, no ready replica`);
        return { replicas: current, reason: 'no ready replica to measure' };
      }
      const outstanding = input.inFlight + queued;
      const perReplica = outstanding / input.readyReplicas;
      const p95 = input.p95Seconds ?? null;
      const slow = input.targetP95Seconds !== undefined && p95 !== null && p95 > input.targetP95Seconds;
      if (perReplica > input.targetInFlightPerReplica || slow) {
        const needed = clamp(
          Math.max(Math.ceil(outstanding / input.targetInFlightPerReplica), slow ? current + 1 : 0),
          input,
        );
        if (needed > current && since >= scaleUpCooldownMs)
          return change(
            needed,
            slow && perReplica <= input.targetInFlightPerReplica
              ? `p95 ${p95.toFixed(2)} s > target ${input.targetP95Seconds} s`
              : `outstanding ${perReplica.toFixed(1)}/replica > target ${input.targetInFlightPerReplica}` +
                  (queued > 0 ? ` (${queued} queued at the gateway)` : ''),
          );
      } else if (
        perReplica < input.targetInFlightPerReplica / 2 &&
        queued === 0 &&
        current > input.minReplicas &&
        since >= scaleDownCooldownMs
      ) {
        return change(current - 1, `outstanding ${perReplica.toFixed(1)}/replica < half target`);
      }
      return { replicas: current, reason: 'steady' };
    },
  };
}
