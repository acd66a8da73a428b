import { GpumuxError } from '../../common/errors.js';
import type { ReplicaStats } from '../contract.js';
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

/** 503 with the reason when the replica cannot take work (loading, warming, draining, failed). */
export function notReadyError(state: EngineState): GpumuxError {
  if (state === 'draining')
    return new GpumuxError('DRAINING', 'replica is draining', { retryAfterSeconds: 1 });
  return new GpumuxError('NOT_READY', `model is not ready (state ${state})`, {
    retryAfterSeconds: state === 'failed' ? 30 : 1,
  });
}

/** Throws NOT_READY / DRAINING unless the replica is ready. */
export function assertAccepting(lifecycle: Lifecycle): void {
  const state = lifecycle.state();
  if (state !== 'ready') throw notReadyError(state);
}

/** The plain lifecycle: the engine's own state and stats, drain = engine.drain(). */
export function engineLifecycle(engine: {
  readonly state: EngineState;
  stats(): ReplicaStats;
  drain(): Promise<void>;
}): Lifecycle {
  return {
    state: () => engine.state,
    stats: () => engine.stats(),
    drain: () => void engine.drain(),
  };
}
