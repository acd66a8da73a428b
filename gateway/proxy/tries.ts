import { GpumuxError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { GpuRecord } from '../inventory/gpus.js';
import type { Inventory } from '../inventory/inventory.js';
import { servable, type ReplicaRecord } from '../inventory/records.js';
import type { RoutingContext } from '../routing/types.js';
import type { Admission } from './admission.js';
import { STREAM_THRESHOLD_BYTES, type HeldBody } from './body.js';
import type { Blame } from './blame.js';
import type { Cancellation } from './cancellation.js';
import { PerTryTimeoutError, perTryTimeoutMs, type PerTryTimeoutOptions } from './per-try.js';
import type { RetryBudget } from './retry-budget.js';

/** What the tries of a request tell (metrics). */
export interface TryObserver {
  retry(model: string, reason: string): void;
  /** A try went past its per-try timeout (whether or not it was retried). */
  perTryTimeout(model: string): void;
  /** A retry was wanted and the model's retry budget was spent. */
  retryBudgetExhausted(model: string): void;
}

export interface ForwarderOptions {
  inventory: Inventory;
  admission: Admission;
  /** Which outcomes count against a replica (proxy/blame.ts). */
  blame: Blame;
  maxRetries: number;
  perTryTimeout: PerTryTimeoutOptions;
  retryBudget: RetryBudget;
  observer: TryObserver;
  logger: Logger;
}

/** A forwarder's options and its GPU lookup for routing, made once per forwarder (not per request). */
export interface TryDeps extends ForwarderOptions {
  gpuOf: (r: ReplicaRecord) => GpuRecord | undefined;
}

/** What every proxied request carries: the route, the held body and the request's cancellation. */
export interface ProxiedRequest {
  model: string;
  version: string | null;
  /** Path sent upstream; always one of the client API's routes, matched by the HTTP layer. */
  path: string;
  method: 'GET' | 'POST';
  body: HeldBody;
  requestId: string;
  cancel: Cancellation;
}

/** One try of a request: which replica, which try (0-based), and every replica tried so far (this one included). */
export interface Try {
  model: string;
  n: number;
  replica: ReplicaRecord;
  tried: ReadonlySet<ReplicaRecord>;
  cancel: Cancellation;
  /** performance.now() when the replica was taken. */
  started: number;
}

/** A buffer this large may still be in the gateway's socket when a replica that refused it closes. */
export const unsentAfterWrite = (bytes: Buffer | null): boolean =>
  (bytes?.length ?? 0) > STREAM_THRESHOLD_BYTES;

export const since = (started: number): number => (performance.now() - started) / 1000;

/** The routing context of a request: the same for each of its tries. */
export const routingContext = (d: TryDeps, f: ProxiedRequest): RoutingContext => ({
  model: f.model,
  version: f.version,
  now: Date.now(),
  gpuOf: d.gpuOf,
});

export function hasAlternative(d: TryDeps, model: string, exclude: ReadonlySet<ReplicaRecord>): boolean {
  return d.inventory.byModel(model).some((r) => !exclude.has(r) && servable(r));
}

/** May try n (0-based) be followed by another, on a replica not in `tried`, within the retry budget? Takes it. */
export function mayRetry(d: TryDeps, { model, n, tried }: Try): boolean {
  if (n >= d.maxRetries || !hasAlternative(d, model, tried)) return false;
  if (d.retryBudget.withdraw(model)) return true;
  d.observer.retryBudgetExhausted(model);
  return false;
}

/**
 * Takes try n's replica, one not tried yet, and adds it to `tried` (the one place the set grows). The first
 * try opens the model's retry-budget window.
 */
export async function nextTry(
  d: TryDeps,
  ctx: RoutingContext,
  cancel: Cancellation,
  n: number,
  tried: Set<ReplicaRecord>,
): Promise<Try> {
  const replica = await d.admission.acquire(ctx, cancel, tried);
  // counted once a replica serves the model: an unknown model name (404 from acquire) gets no window
  if (n === 0) d.retryBudget.request(ctx.model);
  tried.add(replica);
  return { model: ctx.model, n, replica, tried, cancel, started: performance.now() };
}

/**
 * Arms the try's per-try timeout: when it passes before the replica answers, the replica is blamed and,
 * if another replica may be tried within the budget, `cut()` ends this try (it is retried); otherwise the
 * try goes on until the request's deadline. Returns the disarm.
 */
export function armPerTry(d: TryDeps, t: Try, cut: (err: PerTryTimeoutError) => void): () => void {
  const ms = perTryTimeoutMs(t.replica, d.perTryTimeout);
  const timer = setTimeout(() => {
    d.blame.tryTimedOut(t.replica);
    d.observer.perTryTimeout(t.model);
    const retry = mayRetry(d, t);
    d.logger.warn('per-try timeout', { replica: t.replica.endpoint.id, timeoutMs: Math.round(ms), retry });
    if (retry) cut(new PerTryTimeoutError(ms));
  }, ms);
  return () => clearTimeout(timer);
}

/**
 * A failed attempt: what it tells about the replica (blame.ts), and the error the client gets if there is
 * no retry (null: retry).
 */
export function failure(
  d: TryDeps,
  { replica, cancel, started }: Try,
  err: unknown,
  uploading: boolean,
): GpumuxError | null {
  if (cancel.aborted) {
    if (cancel.expired) {
      d.blame.expired(replica, since(started));
      return new GpumuxError('DEADLINE_EXCEEDED', 'deadline exceeded', { cause: err });
    }
    return new GpumuxError('CLIENT_CLOSED', 'client closed the request', { cause: err });
  }
  d.blame.connectionFailed(replica, uploading);
  d.logger.warn('upstream failed', { replica: replica.endpoint.id, err, uploading });
  return null;
}

/**
 * A try that failed before anything reached the client: returns when it is retried (its per-try timeout cut
 * it, or another replica may take it), else throws the error the client gets.
 */
export function retryOrThrow(
  d: TryDeps,
  t: Try,
  err: unknown,
  cutByPerTry: boolean,
  uploading: boolean,
): void {
  if (cutByPerTry && !t.cancel.aborted) {
    d.observer.retry(t.model, 'per-try-timeout'); // blamed and taken from the budget when cut
    return;
  }
  const final = failure(d, t, err, uploading);
  if (final) throw final;
  if (!mayRetry(d, t)) throw new GpumuxError('UPSTREAM_FAILED', 'replica failed', { cause: err });
  d.observer.retry(t.model, 'connection');
}
