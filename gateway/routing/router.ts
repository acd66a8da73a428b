import type { Logger } from '../../common/log.js';
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

/** Weight per scorer, by the scorer's name (the config's `routing.weights`). */
export type RoutingWeights = Record<string, number>;

/** The scorers a weight may name. */
export const SCORERS: readonly Scorer[] = [
  outstandingScorer,
  gpuContentionScorer,
  latencyScorer,
  headroomScorer,
];

/** Eligibility filters in order; the model filter runs first so a wrong name can answer 404. */
const HEALTH_FILTERS: readonly Filter[] = [readyFilter, notDrainingFilter, notEjectedFilter, gpuMemoryFilter];

/** Retries exclude the replicas already tried: named like a filter when that leaves none. */
const EXCLUDED = 'already-tried';

export interface RouterOptions {
  weights: RoutingWeights;
  picker?: 'max-score' | 'power-of-two' | Picker;
  /** Requests the gateway may keep outstanding on a replica before it counts as saturated. */
  capacityOf: (r: ReplicaRecord) => number;
  /** Random source of the pickers (tie-breaks, power-of-two samples); tests inject one. */
  random?: () => number;
  /** Debug lines naming the filter that left no candidate. */
  logger?: Logger;
}

export type RouteResult =
  | { kind: 'replica'; replica: ReplicaRecord }
  /** Every eligible replica is at capacity: queue, or 429. */
  | { kind: 'saturated' }
  /** `filter`: the one that left no candidate. */
  | { kind: 'unavailable'; code: 'MODEL_NOT_FOUND' | 'VERSION_NOT_FOUND' | 'NO_REPLICA'; filter: string };

/** The last time routing found no replica for a model, and which filter emptied the candidates. */
export interface RoutingFailure {
  filter: string;
  code: 'VERSION_NOT_FOUND' | 'NO_REPLICA';
  /** Epoch ms (the request's `ctx.now`). */
  at: number;
}

export interface Router {
  route(
    candidates: readonly ReplicaRecord[],
    ctx: RoutingContext,
    exclude?: ReadonlySet<ReplicaRecord>,
  ): RouteResult;
  /** Per model that routing knows: its last failure (for /v1/cluster). */
  lastFailures(): ReadonlyMap<string, RoutingFailure>;
}

/**
 * filter → score → pick (the Gateway API Inference Extension's endpoint-picker shape). Every plugin has a
 * name; scorers each give [0,1] per candidate, weighted by name; the total decides through the picker. When a
 * filter leaves nothing, the result names it (and the debug log, and the model's last failure).
 */
export function createRouter({
  weights,
  picker = 'max-score',
  capacityOf,
  random = Math.random,
  logger,
}: RouterOptions): Router {
  const pick: Picker =
    typeof picker === 'object'
      ? picker
      : picker === 'power-of-two'
        ? powerOfTwoPicker({ random })
        : maxScorePicker({ random });
  for (const name of Object.keys(weights))
    if (!SCORERS.some((s) => s.name === name)) throw new Error(`routing weight for unknown scorer "${name}"`);
  const scorers = SCORERS.map((s) => [s, weights[s.name] ?? 0] as const).filter(([, w]) => w > 0);
  const failures = new Map<string, RoutingFailure>();

  function unavailable(
    ctx: RoutingContext,
    code: 'VERSION_NOT_FOUND' | 'NO_REPLICA',
    filter: string,
  ): RouteResult {
    failures.set(ctx.model, { filter, code, at: ctx.now });
    logger?.debug('no replica for the request', { model: ctx.model, version: ctx.version, filter, code });
    return { kind: 'unavailable', code, filter };
  }

  return {
    route(all, ctx, exclude) {
      let candidates = servesModelFilter.filter(all as ReplicaRecord[], ctx);
      if (candidates.length === 0) {
        const modelKnown = ctx.version !== null && all.some((r) => r.measurement.stats?.model === ctx.model);
        if (!modelKnown)
          return { kind: 'unavailable', code: 'MODEL_NOT_FOUND', filter: servesModelFilter.name };
        return unavailable(ctx, 'VERSION_NOT_FOUND', servesModelFilter.name);
      }
      for (const f of HEALTH_FILTERS) {
        candidates = f.filter(candidates, ctx);
        if (candidates.length === 0) return unavailable(ctx, 'NO_REPLICA', f.name);
      }
      if (exclude && exclude.size > 0) candidates = candidates.filter((c) => !exclude.has(c));
      if (candidates.length === 0) return unavailable(ctx, 'NO_REPLICA', EXCLUDED);
      candidates = candidates.filter((c) => outstanding(c) < capacityOf(c));
      if (candidates.length === 0) return { kind: 'saturated' };
      if (candidates.length === 1) return { kind: 'replica', replica: candidates[0]! };
      const totals = new Array<number>(candidates.length).fill(0);
      for (const [scorer, weight] of scorers) {
        const scores = scorer.score(candidates, ctx);
        for (let i = 0; i < totals.length; i++) totals[i]! += weight * scores[i]!;
      }
      return { kind: 'replica', replica: pick.pick(candidates, totals) };
    },
    lastFailures: () => failures,
  };
}
