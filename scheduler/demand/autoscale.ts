/**
 * Demand: how many replicas a model wants, from the load its replicas report (in-flight per replica, which
 * includes the queue). Above the target per replica → scale up to what the target needs; below half the
 * target → one replica fewer. Cool-downs stop flapping; the result stays within [min, max].
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
      if (input.readyReplicas === 0) return { replicas: current, reason: 'no ready replica to measure' };
      const perReplica = input.inFlight / input.readyReplicas;
      const since = now() - (lastChange.get(input.model) ?? -Infinity);
      if (perReplica > input.targetInFlightPerReplica) {
        const needed = clamp(Math.ceil(input.inFlight / input.targetInFlightPerReplica), input);
        if (needed > current && since >= scaleUpCooldownMs) {
          lastChange.set(input.model, now());
          return {
            replicas: needed,
            reason: `in-flight ${perReplica.toFixed(1)}/replica > target ${input.targetInFlightPerReplica}`,
          };
        }
      } else if (
        perReplica < input.targetInFlightPerReplica / 2 &&
        current > input.minReplicas &&
        since >= scaleDownCooldownMs
      ) {
        lastChange.set(input.model, now());
        return { replicas: current - 1, reason: `in-flight ${perReplica.toFixed(1)}/replica < half target` };
      }
      return { replicas: current, reason: 'steady' };
    },
  };
}
