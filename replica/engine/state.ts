import { NOT_READY_RETRY_AFTER_SECONDS } from '../../common/back-pressure.js';
import { GpumuxError } from '../../common/errors.js';
import type { EngineFatal, EngineState } from './types.js';

/**
 * The 503 that says why a replica in `state` takes no work: DRAINING, or NOT_READY (loading, warming, failed).
 * A failed replica is not coming back soon (30 s); the others retry after the shared not-ready interval.
 */
export function notReadyError(state: EngineState): GpumuxError {
  if (state === 'draining')
    return new GpumuxError('DRAINING', 'replica is draining', {
      retryAfterSeconds: NOT_READY_RETRY_AFTER_SECONDS,
    });
  return new GpumuxError('NOT_READY', `model is not ready (state ${state})`, {
    retryAfterSeconds: state === 'failed' ? 30 : NOT_READY_RETRY_AFTER_SECONDS,
  });
}

/**
 * The engine's lifecycle and its outstanding work: `loading` → `warming` → `ready`, `draining` once a drain
 * began, `failed` when loading failed or a fatal error (CUDA out of memory, the session worker gone) ended
 * it. Counts every detect/infer call until it settles, so a drain can wait for them.
 *
 * @example
 * const life = createEngineState({ onFatal: (f) => hooks.onFatal?.(f) });
 * const result = await life.tracked(1, () => runFrame()); // throws NOT_READY / DRAINING unless ready
 */
export function createEngineState(options: { onFatal: (fatal: EngineFatal) => void }) {
  const { onFatal } = options;
  let state: EngineState = 'loading';
  let fatal: EngineFatal | null = null;
  let active = 0;
  let idleWaiters: (() => void)[] = [];
  const totals = { requests: 0, frames: 0, errors: 0 };

  /** Throws the 503 that says why no new work is taken, unless ready. */
  const accepting = () => {
    if (state !== 'ready') throw notReadyError(state);
  };

  return {
    get current(): EngineState {
      return state;
    },
    /** The fatal error, once there was one. */
    get fatal(): EngineFatal | null {
      return fatal;
    },
    totals,
    set(next: EngineState) {
      if (state === 'failed') return; // failed is final
      state = next;
    },
    accepting,
    /**
     * Turns `failed` for good and reports it once (later calls are ignored). Returns false when a fatal
     * error had already been reported.
     */
    fail(info: EngineFatal): boolean {
      state = 'failed';
      if (fatal) return false;
      fatal = info;
      onFatal(info);
      return true;
    },
    /** Counts a detect/infer call as outstanding work until it settles (drain waits for it). */
    async tracked<T>(frames: number, work: () => Promise<T>): Promise<T> {
      accepting();
      totals.requests++;
      totals.frames += frames;
      active++;
      try {
        return await work();
      } catch (err) {
        totals.errors++;
        throw err;
      } finally {
        active--;
        if (active === 0) {
          const waiters = idleWaiters;
          idleWaiters = [];
          waiters.forEach((w) => w());
        }
      }
    },
    /** Resolves when no detect/infer call is outstanding. */
    idle(): Promise<void> {
      return active === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}

export type EngineLifecycle = ReturnType<typeof createEngineState>;
