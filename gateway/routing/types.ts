import type { GpuRecord } from '../inventory/gpus.js';
import type { ReplicaRecord } from '../inventory/records.js';

/** What the routing plugins may read: the candidates' records, their GPUs, the request and the time. */
export interface RoutingContext {
  model: string;
  /** null: any version. */
  version: string | null;
  now: number;
  gpuOf(r: ReplicaRecord): GpuRecord | undefined;
}

/**
 * Keeps the candidates that may serve the request. `name` is what logs and the cluster view say when this
 * filter left none.
 */
export interface Filter {
  readonly name: string;
  filter(candidates: ReplicaRecord[], ctx: RoutingContext): ReplicaRecord[];
}

/** One score per candidate in [0, 1], higher is better. `name` is its weight's key in the config. */
export interface Scorer {
  readonly name: string;
  score(candidates: readonly ReplicaRecord[], ctx: RoutingContext): number[];
}

/** Chooses one candidate given the weighted total scores (same order). `name`: the config's `routing.picker`. */
export interface Picker {
  readonly name: string;
  pick: (candidates: readonly ReplicaRecord[], scores: readonly number[]) => ReplicaRecord;
}
