import type { ReplicaStats } from '../contract.js';
import { notReadyError } from '../engine/state.js';
import type { EngineState } from '../engine/types.js';

/**
 * What the HTTP layer needs to know about the replica's life beyond the engine: a drain begins in the HTTP
 * layer (new work refused at once) before the engine itself drains, so state and stats come from here.
 */
export interface Lifecycle {
  /** The engine's state, or `draining` once a drain began. */
  state(): EngineState;
  /** engine.stats() with `state` / `ready` as above. */
  stats(): ReplicaStats;
  /** Starts draining (idempotent). */
  drain(): void;
}

/** Throws NOT_READY / DRAINING unless the replica is ready. */
export function assertAccepting(lifecycle: Lifecycle): void {
  const state = lifecycle.state();
  if (state !== 'ready') throw notReadyError(state);
}
