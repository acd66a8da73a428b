import type { ExistingReplica, PlacedReplica } from '../types.js';

/** What a plan changes besides placing replicas (plan.ts PlacementResult): removals, moves, what waits. */

export interface RemovedReplica {
  replica: ExistingReplica;
  reason: string;
}

/** Drain-free relocation: a copy is created at `to` now; the original is drained once the copy is ready. */
export interface MoveReplica {
  replica: ExistingReplica;
  to: PlacedReplica;
  reason: string;
}

export interface UnplacedModel {
  model: string;
  /** Finite only for finite demand. */
  count: number;
  reason: string;
  /** Why each GPU refused the model's next replica (cordoned, per-GPU cap, short by N bytes, kept free). */
  gpus: { gpu: string; reason: string }[];
}
