import { NOT_READY_RETRY_AFTER_SECONDS } from '../../common/back-pressure.js';
import { GpumuxError } from '../../common/errors.js';
import type { Inventory } from '../inventory/inventory.js';
import { latencySeconds, type ReplicaRecord } from '../inventory/records.js';
import type { RouteResult, Router } from '../routing/router.js';
import type { RoutingContext } from '../routing/types.js';
import type { Cancellation } from './cancellation.js';

interface Waiter {
  ctx: RoutingContext;
  exclude: ReadonlySet<ReplicaRecord> | undefined;
  resolve(r: ReplicaRecord): void;
  reject(err: GpumuxError): void;
  removeCancel: () => void;
}

export interface AdmissionOptions {
  inventory: Inventory;
  router: Router;
  /** Requests that may wait per model while every replica is saturated. */
  queuePerModel: number;
}

export interface Admission {
  /**
   * A replica for the request, its in-flight count already taken. Waits in the model's bounded queue while
   * every replica is saturated; rejects with OVERLOADED (429) when that queue is full, NO_REPLICA (503),
   * MODEL_NOT_FOUND / VERSION_NOT_FOUND (404), or when the request is cancelled (deadline, client gone).
   */
  acquire(
    ctx: RoutingContext,
    cancel: Cancellation,
    exclude?: ReadonlySet<ReplicaRecord>,
  ): Promise<ReplicaRecord>;
  /**
   * What acquire would refuse at once for an unknown model or a full queue (and, when the queue is full, for
   * an unknown version or no ready replica), without taking anything: checked before a request's body is
   * held, so such a request costs no body memory.
   */
  refusal(ctx: RoutingContext): GpumuxError | null;
  /** Gives back the in-flight slot taken by acquire and lets a waiter in. */
  release(r: ReplicaRecord): void;
  /** Re-tries the queued requests (after a poll round changed the picture). */
  wakeAll(): void;
  queueDepth(model: string): number;
  depths(): Map<string, number>;
}

function unavailable(
  result: Extract<RouteResult, { kind: 'unavailable' }>,
  ctx: RoutingContext,
): GpumuxError {
  const target = ctx.version === null ? ctx.model : `${ctx.model} version ${ctx.version}`;
  if (result.code === 'NO_REPLICA') {
    return new GpumuxError('NO_REPLICA', `no ready replica serves ${target}`, {
      retryAfterSeconds: NOT_READY_RETRY_AFTER_SECONDS,
    });
  }
  return new GpumuxError(result.code, `no replica serves ${target}`);
}

function noop(): void {}

function cancelledError(cancel: Cancellation): GpumuxError {
  return cancel.expired
    ? new GpumuxError('DEADLINE_EXCEEDED', 'deadline exceeded while queued')
    : new GpumuxError('CLIENT_CLOSED', 'client closed the request while queued');
}

/** Seconds until a queued request can expect a slot on one of `replicas`: a rough hint for Retry-After. */
function retryAfter(replicas: readonly ReplicaRecord[], waiting: number): number {
  let latency = 0;
  for (const r of replicas) latency = Math.max(latency, latencySeconds(r));
  return Math.max(1, Math.ceil((latency * (waiting + 1)) / Math.max(1, replicas.length)));
}

/** Per-model wait queues in front of the router. One closure: short methods over the shared queues. */
export function createAdmission({ inventory, router, queuePerModel }: AdmissionOptions): Admission {
  const queues = new Map<string, Waiter[]>();

  function take(r: ReplicaRecord): ReplicaRecord {
    r.traffic.inFlight++;
    return r;
  }

  function drain(model: string): void {
    const queue = queues.get(model);
    if (!queue) return;
    while (queue.length > 0) {
      const w = queue[0]!;
      const result = router.route(inventory.byModel(model), w.ctx, w.exclude);
      if (result.kind === 'saturated') break;
      queue.shift();
      w.removeCancel();
      if (result.kind === 'replica') w.resolve(take(result.replica));
      else w.reject(unavailable(result, w.ctx));
    }
  }

  function queueFull(model: string): GpumuxError {
    const waiting = queues.get(model)?.length ?? 0;
    return new GpumuxError('OVERLOADED', `every replica of ${model} is busy and its queue is full`, {
      retryAfterSeconds: retryAfter(inventory.byModel(model), waiting),
    });
  }

  return {
    refusal(ctx) {
      // Cheap on the hot path: the router runs only when the queue is already full.
      const replicas = inventory.byModel(ctx.model);
      if (replicas.length === 0) return new GpumuxError('MODEL_NOT_FOUND', `no replica serves ${ctx.model}`);
      if ((queues.get(ctx.model)?.length ?? 0) < queuePerModel) return null;
      const result = router.route(replicas, ctx);
      if (result.kind === 'unavailable') return unavailable(result, ctx);
      return result.kind === 'saturated' ? queueFull(ctx.model) : null;
    },
    acquire(ctx, cancel, exclude) {
      const result = router.route(inventory.byModel(ctx.model), ctx, exclude);
      if (result.kind === 'replica') return Promise.resolve(take(result.replica));
      if (result.kind === 'unavailable') return Promise.reject(unavailable(result, ctx));
      let queue = queues.get(ctx.model);
      if (!queue) queues.set(ctx.model, (queue = []));
      if (queue.length >= queuePerModel) return Promise.reject(queueFull(ctx.model));
      const q = queue;
      if (cancel.aborted) return Promise.reject(cancelledError(cancel));
      return new Promise<ReplicaRecord>((resolve, reject) => {
        const w: Waiter = { ctx, exclude, resolve, reject, removeCancel: noop };
        q.push(w);
        w.removeCancel = cancel.on(() => {
          const i = q.indexOf(w);
          if (i >= 0) q.splice(i, 1);
          reject(cancelledError(cancel));
        });
      });
    },
    release(r) {
      r.traffic.inFlight--;
      const model = r.measurement.stats?.model;
      if (model !== undefined && (queues.get(model)?.length ?? 0) > 0) drain(model);
    },
    wakeAll() {
      for (const model of queues.keys()) drain(model);
    },
    queueDepth: (model) => queues.get(model)?.length ?? 0,
    depths: () => new Map([...queues].map(([m, q]) => [m, q.length])),
  };
}
