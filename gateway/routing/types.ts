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

/** Keeps the candidates that may serve the request. */
export type Filter = (candidates: ReplicaRecord[], ctx: RoutingContext) => ReplicaRecord[];

/** One score per candidate in [0, 1], higher is better. */
export type Scorer = (candidates: readonly ReplicaRecord[], ctx: RoutingContext) => number[];

/** Chooses one candidate given the weighted total scores (same order). */
export type Picker = (candidates: readonly ReplicaRecord[], scores: readonly number[]) => ReplicaRecord;
