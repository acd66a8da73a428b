import type { ReplicaRecord } from '../inventory/records.js';
import { outstanding } from '../inventory/records.js';
import { gpuMemoryFilter } from './filters/gpu-memory.js';
import { notDrainingFilter } from './filters/not-draining.js';
import { notEjectedFilter } from './filters/not-ejected.js';
import { readyFilter } from './filters/ready.js';
import { servesModelFilter } from './filters/serves-model.js';
import { maxScorePicker } from './pickers/max-score.js';
import { powerOfTwoPicker } from './pickers/power-of-two.js';
import { gpuContentionScorer } from './scorers/gpu-contention.js';
import { headroomScorer } from './scorers/headroom.js';
import { latencyScorer } from './scorers/latency.js';
import { outstandingScorer } from './scorers/outstanding.js';
import type { Filter, Picker, RoutingContext, Scorer } from './types.js';

export interface RoutingWeights {
  outstanding: number;
  contention: number;
  latency: number;
  headroom: number;
}

export interface RouterOptions {
  weights: RoutingWeights;
  picker?: 'max-score' | 'power-of-two' | Picker;
  /** Requests the gateway may keep outstanding on a replica before it counts as saturated. */
  capacityOf: (r: ReplicaRecord) => number;
  /** Random source of the pickers (tie-breaks, power-of-two samples); tests inject one. */
  random?: () => number;
}

export type RouteResult =
  | { kind: 'replica'; replica: ReplicaRecord }
  /** Every eligible replica is at capacity: queue, or 429. */
  | { kind: 'saturated' }
  | { kind: 'unavailable'; code: 'MODEL_NOT_FOUND' | 'VERSION_NOT_FOUND' | 'NO_REPLICA' };

export interface Router {
  route(
    candidates: readonly ReplicaRecord[],
    ctx: RoutingContext,
    exclude?: ReadonlySet<ReplicaRecord>,
  ): RouteResult;
}

/** Eligibility filters in order; the model filter runs first so a wrong name can answer 404. */
const HEALTH_FILTERS: Filter[] = [readyFilter, notDrainingFilter, notEjectedFilter, gpuMemoryFilter];

/**
 * filter → score → pick (the Gateway API Inference Extension's endpoint-picker shape). Scorers each give
 * [0,1] per candidate; the total is their weighted sum; the picker chooses.
 */
export function createRouter({
  weights,
  picker = 'max-score',
  capacityOf,
  random = Math.random,
}: RouterOptions): Router {
  const pick: Picker =
    typeof picker === 'function'
      ? picker
      : picker === 'power-of-two'
        ? powerOfTwoPicker({ random })
        : maxScorePicker({ random });
  const scorers: [Scorer, number][] = (
    [
      [outstandingScorer, weights.outstanding],
      [gpuContentionScorer, weights.contention],
      [latencyScorer, weights.latency],
      [headroomScorer, weights.headroom],
    ] as [Scorer, number][]
  ).filter(([, w]) => w > 0);

  return {
    route(all, ctx, exclude) {
      let candidates = servesModelFilter(all as ReplicaRecord[], ctx);
      if (candidates.length === 0) {
        const modelKnown = ctx.version !== null && all.some((r) => r.measurement.stats?.model === ctx.model);
        return { kind: 'unavailable', code: modelKnown ? 'VERSION_NOT_FOUND' : 'MODEL_NOT_FOUND' };
      }
      for (const f of HEALTH_FILTERS) candidates = f(candidates, ctx);
      if (exclude && exclude.size > 0) candidates = candidates.filter((c) => !exclude.has(c));
      if (candidates.length === 0) return { kind: 'unavailable', code: 'NO_REPLICA' };
      candidates = candidates.filter((c) => outstanding(c) < capacityOf(c));
      if (candidates.length === 0) return { kind: 'saturated' };
      if (candidates.length === 1) return { kind: 'replica', replica: candidates[0]! };
      const totals = new Array<number>(candidates.length).fill(0);
      for (const [scorer, weight] of scorers) {
        const scores = scorer(candidates, ctx);
        for (let i = 0; i < totals.length; i++) totals[i]! += weight * scores[i]!;
      }
      return { kind: 'replica', replica: pick(candidates, totals) };
    },
  };
}
