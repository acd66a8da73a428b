import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { GpumuxError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { Inventory } from '../inventory/inventory.js';
import { servable, type ReplicaRecord } from '../inventory/records.js';
import type { RoutingContext } from '../routing/types.js';
import type { Admission } from './admission.js';
import type { Readable } from 'node:stream';
import { STREAM_THRESHOLD_BYTES, type HeldBody } from './body.js';
import type { Blame } from './blame.js';
import type { Cancellation } from './cancellation.js';
import { upstreamHeaders } from './headers.js';
import { PerTryTimeoutError, perTryTimeoutMs, type PerTryTimeoutOptions } from './per-try.js';
import type { RetryBudget } from './retry-budget.js';
import { StreamHandler, brokenStatus, retryableStatus, type AttemptOutcome } from './stream-handler.js';

/** Outcome hooks (metrics, sliding window): one call per answered client request. */
export interface ForwardObserver {
  done(model: string, status: number, seconds: number): void;
}

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

/** A request the HTTP layer has parsed and whose body it holds. */
export interface ForwardRequest {
  req: IncomingMessage;
  res: ServerResponse;
  model: string;
  version: string | null;
  /** Path sent upstream; always one of the client API's routes, matched by the HTTP layer. */
  path: string;
  method: 'GET' | 'POST';
  body: HeldBody;
  requestId: string;
  cancel: Cancellation;
}

export interface Forwarder {
  /**
   * Sends the request to a replica and streams the answer to the client; on a refused/reset connection or a
   * retryable status (502/503/504/429) tries another replica, at most maxRetries more, while the deadline
   * allows. Resolves with the status the client got; rejects with a GpumuxError when nothing was sent.
   */
  forward(f: ForwardRequest): Promise<number>;
  /** One request whose answer the caller reads (split multi-frame detect); routed and retried the same way. */
  exchange(
    f: Omit<ForwardRequest, 'res' | 'req'> & { headers: Record<string, string | string[]> },
  ): Promise<Dispatcher.ResponseData>;
}

/** A buffer this large may still be in the gateway's socket when a replica that refused it closes. */
const unsentAfterWrite = (bytes: Buffer | null): boolean => (bytes?.length ?? 0) > STREAM_THRESHOLD_BYTES;

/** One try of a request: which replica, which try (0-based), and every replica tried so far (this one included). */
interface Try {
  model: string;
  n: number;
  replica: ReplicaRecord;
  tried: ReadonlySet<ReplicaRecord>;
  cancel: Cancellation;
  /** performance.now() when the replica was taken. */
  started: number;
}

export function createForwarder({
  inventory,
  admission,
  blame,
  maxRetries,
  perTryTimeout,
  retryBudget,
  observer,
  logger,
}: ForwarderOptions): Forwarder {
  const gpuOf = (r: ReplicaRecord) => inventory.gpu(r.gpuKey);
  const since = (started: number): number => (performance.now() - started) / 1000;

  function hasAlternative(model: string, exclude: ReadonlySet<ReplicaRecord>): boolean {
    return inventory.byModel(model).some((r) => !exclude.has(r) && servable(r));
  }

  /** May try n (0-based) be followed by another, on a replica not in `tried`, within the retry budget? Takes it. */
  function mayRetry({ model, n, tried }: Try): boolean {
    if (n >= maxRetries || !hasAlternative(model, tried)) return false;
    if (retryBudget.withdraw(model)) return true;
    observer.retryBudgetExhausted(model);
    return false;
  }

  /**
   * Takes try n's replica, one not tried yet, and adds it to `tried` (the one place the set grows). The first
   * try opens the model's retry-budget window.
   */
  async function nextTry(
    ctx: RoutingContext,
    cancel: Cancellation,
    n: number,
    tried: Set<ReplicaRecord>,
  ): Promise<Try> {
    const replica = await admission.acquire(ctx, cancel, tried);
    // counted once a replica serves the model: an unknown model name (404 from acquire) gets no window
    if (n === 0) retryBudget.request(ctx.model);
    tried.add(replica);
    return { model: ctx.model, n, replica, tried, cancel, started: performance.now() };
  }

  /**
   * Arms the try's per-try timeout: when it passes before the replica answers, the replica is blamed and,
   * if another replica may be tried within the budget, `cut()` ends this try (it is retried); otherwise the
   * try goes on until the request's deadline. Returns the disarm.
   */
  function armPerTry(t: Try, cut: (err: PerTryTimeoutError) => void): () => void {
    const ms = perTryTimeoutMs(t.replica, perTryTimeout);
    const timer = setTimeout(() => {
      blame.tryTimedOut(t.replica);
      observer.perTryTimeout(t.model);
      const retry = mayRetry(t);
      logger.warn('per-try timeout', { replica: t.replica.endpoint.id, timeoutMs: Math.round(ms), retry });
      if (retry) cut(new PerTryTimeoutError(ms));
    }, ms);
    return () => clearTimeout(timer);
  }

  /**
   * A failed attempt: what it tells about the replica (blame.ts), and the error the client gets if there is
   * no retry (null: retry).
   */
  function failure({ replica, cancel, started }: Try, err: unknown, uploading: boolean): GpumuxError | null {
    if (cancel.aborted) {
      if (cancel.expired) {
        blame.expired(replica, since(started));
        return new GpumuxError('DEADLINE_EXCEEDED', 'deadline exceeded', { cause: err });
      }
      return new GpumuxError('CLIENT_CLOSED', 'client closed the request', { cause: err });
    }
    blame.connectionFailed(replica, uploading);
    logger.warn('upstream failed', { replica: replica.endpoint.id, err, uploading });
    return null;
  }

  /**
   * A try that failed before anything reached the client: returns when it is retried (its per-try timeout cut
   * it, or another replica may take it), else throws the error the client gets.
   */
  function retryOrThrow(t: Try, err: unknown, cutByPerTry: boolean, uploading: boolean): void {
    if (cutByPerTry && !t.cancel.aborted) {
      observer.retry(t.model, 'per-try-timeout'); // blamed and taken from the budget when cut
      return;
    }
    const final = failure(t, err, uploading);
    if (final) throw final;
    if (!mayRetry(t)) throw new GpumuxError('UPSTREAM_FAILED', 'replica failed', { cause: err });
    observer.retry(t.model, 'connection');
  }

  /** Sends one try and streams its answer to the client (unless it is a status worth retrying elsewhere). */
  async function streamTry(
    f: ForwardRequest,
    headers: Record<string, string | string[]>,
    t: Try,
  ): Promise<{ outcome: AttemptOutcome; cutByPerTry: boolean; uploading: boolean }> {
    const { body } = f;
    // Retry on a status only if another replica could take it within the budget; otherwise the replica's
    // answer goes out. (Taken from the budget when the retry happens.)
    const retryOnStatus = t.n < maxRetries && hasAlternative(t.model, t.tried) && retryBudget.allows(t.model);
    let cutByPerTry = false;
    let disarm: (() => void) | undefined;
    let handler: StreamHandler | undefined;
    // The per-try clock starts once the whole body is with the replica: a slow client is not the replica's fault.
    const arm = () => {
      disarm = armPerTry(t, (err) => {
        cutByPerTry = true;
        handler?.abort(err);
      });
    };
    let uploading: boolean;
    let payload: Readable | Buffer | null;
    if (body.streams) {
      uploading = true;
      payload = body.stream(() => {
        uploading = false;
        if (handler && !handler.responded) arm();
      }) as unknown as Readable; // undici takes async iterables
    } else {
      payload = body.buffer();
      uploading = unsentAfterWrite(payload);
    }
    const outcome = await new Promise<AttemptOutcome>((resolve) => {
      handler = new StreamHandler(f.res, f.requestId, retryOnStatus, f.cancel, (o) => {
        disarm?.();
        resolve(o);
      });
      if (!body.streams) arm();
      t.replica.pool.dispatch({ path: f.path, method: f.method, headers, body: payload }, handler);
    });
    disarm?.();
    admission.release(t.replica);
    return { outcome, cutByPerTry, uploading };
  }

  return {
    async forward(f) {
      const { body } = f;
      const headers = upstreamHeaders(
        f.req.headers,
        f.requestId,
        f.method === 'GET' ? null : body.complete ? body.length : body.declared,
      );
      const ctx: RoutingContext = { model: f.model, version: f.version, now: Date.now(), gpuOf };
      const tried = new Set<ReplicaRecord>();
      for (let n = 0; ; n++) {
        const t = await nextTry(ctx, f.cancel, n, tried);
        // The first attempt may stream a large body as it arrives; a retry re-sends the held chunks.
        if (n > 0) await body.whole();
        const { outcome, cutByPerTry, uploading } = await streamTry(f, headers, t);
        switch (outcome.kind) {
          case 'done':
            blame.answered(t.replica, outcome.status, since(t.started));
            return outcome.status;
          case 'retry':
            blame.answered(t.replica, outcome.status, since(t.started));
            retryBudget.withdraw(f.model); // allowed at dispatch; a race may have spent it since: retried anyway
            observer.retry(f.model, String(outcome.status));
            continue;
          case 'broken':
            // The answer was cut mid-stream: what the client got is not the replica's status.
            failure(t, outcome.error, uploading);
            return brokenStatus(f.cancel);
          case 'failed':
            if (body.error) throw body.error; // the client's body failed (too large, too slow, client gone): not the replica's fault
            retryOrThrow(t, outcome.error, cutByPerTry, uploading);
            continue;
        }
      }
    },

    async exchange(f) {
      const ctx: RoutingContext = { model: f.model, version: f.version, now: Date.now(), gpuOf };
      const tried = new Set<ReplicaRecord>();
      for (let n = 0; ; n++) {
        const t = await nextTry(ctx, f.cancel, n, tried);
        const { replica } = t;
        const payload = f.body.buffer();
        const perTry = new AbortController();
        const disarm = armPerTry(t, (err) => perTry.abort(err));
        let response: Dispatcher.ResponseData;
        try {
          response = await replica.pool.request({
            path: f.path,
            method: f.method,
            headers: f.headers,
            body: payload,
            signal: AbortSignal.any([f.cancel.signal(), perTry.signal]),
          });
        } catch (err) {
          disarm();
          admission.release(replica);
          retryOrThrow(t, err, perTry.signal.aborted, unsentAfterWrite(payload));
          continue;
        }
        disarm();
        if (retryableStatus(response.statusCode) && mayRetry(t)) {
          await response.body.dump().catch(() => undefined);
          admission.release(replica);
          blame.answered(replica, response.statusCode, since(t.started));
          observer.retry(f.model, String(response.statusCode));
          continue;
        }
        // The caller reads the body; the slot is given back once the body is finished with, either way.
        response.body.once('close', () => {
          admission.release(replica);
          if (response.body.readableEnded) blame.answered(replica, response.statusCode, since(t.started));
          else if (!f.cancel.aborted) blame.connectionFailed(replica, false);
        });
        return response;
      }
    },
  };
}
