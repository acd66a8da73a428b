import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { GpumuxError, statusOf } from '../../common/errors.js';
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
import { StreamHandler, retryableStatus, type AttemptOutcome } from './stream-handler.js';

/** Outcome hooks (metrics, sliding window). */
export interface ForwardObserver {
  done(model: string, status: number, seconds: number): void;
  retry(model: string, reason: string): void;
}

export interface ForwarderOptions {
  inventory: Inventory;
  admission: Admission;
  /** Which outcomes count against a replica (proxy/blame.ts). */
  blame: Blame;
  maxRetries: number;
  observer: Pick<ForwardObserver, 'retry'>;
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

export function newRequestId(header: string | string[] | undefined): string {
  const v = Array.isArray(header) ? header[0] : header;
  // Propagate a sane client id; anything else gets a fresh one (ids end up in logs).
  return v !== undefined && v.length > 0 && v.length <= 128 && /^[\w.:-]+$/.test(v) ? v : randomUUID();
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

/** What a response cut mid-stream counts as: the client left (499), the deadline (504), the replica (502). */
export function brokenStatus(cancel: Cancellation): number {
  if (!cancel.aborted) return statusOf('UPSTREAM_FAILED');
  return statusOf(cancel.expired ? 'DEADLINE_EXCEEDED' : 'CLIENT_CLOSED');
}

/** A buffer this large may still be in the gateway's socket when a replica that refused it closes. */
const unsentAfterWrite = (bytes: Buffer | null): boolean => (bytes?.length ?? 0) > STREAM_THRESHOLD_BYTES;

/** Yields `chunks` and says when the last one was handed over (the body is no longer being written). */
async function* tracked(chunks: AsyncGenerator<Buffer>, done: () => void): AsyncGenerator<Buffer> {
  yield* chunks;
  done();
}

export function createForwarder({
  inventory,
  admission,
  blame,
  maxRetries,
  observer,
  logger,
}: ForwarderOptions): Forwarder {
  const gpuOf = (r: ReplicaRecord) => inventory.gpu(r.gpuKey);

  function hasAlternative(model: string, exclude: ReadonlySet<ReplicaRecord>): boolean {
    return inventory.byModel(model).some((r) => !exclude.has(r) && servable(r));
  }

  const since = (started: number): number => (performance.now() - started) / 1000;

  /**
   * A failed attempt: what it tells about the replica (blame.ts), and the error the client gets if there is
   * no retry (null: retry).
   */
  function failure(
    replica: ReplicaRecord,
    cancel: Cancellation,
    err: unknown,
    started: number,
    uploading: boolean,
  ): GpumuxError | null {
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

  return {
    async forward(f) {
      const { body } = f;
      const headers = upstreamHeaders(
        f.req.headers,
        f.requestId,
        f.method === 'GET' ? null : body.complete ? body.length : body.declared,
      );
      const ctx: RoutingContext = { model: f.model, version: f.version, now: Date.now(), gpuOf };
      let tried: Set<ReplicaRecord> | undefined;
      for (let n = 0; ; n++) {
        const replica = await admission.acquire(ctx, f.cancel, tried);
        const started = performance.now();
        // Retry on a status only if another replica could take it; otherwise the replica's answer goes out.
        let retryOnStatus = false;
        if (n < maxRetries) {
          (tried ??= new Set()).add(replica);
          retryOnStatus = hasAlternative(f.model, tried);
        }
        // The first attempt may stream a large body as it arrives; a retry re-sends the held chunks.
        if (n > 0) await body.whole();
        let uploading: boolean;
        let payload: Readable | Buffer | null;
        if (body.streams) {
          uploading = true;
          payload = tracked(body.stream(), () => (uploading = false)) as unknown as Readable; // undici takes async iterables
        } else {
          payload = body.buffer();
          uploading = unsentAfterWrite(payload);
        }
        const outcome = await new Promise<AttemptOutcome>((resolve) => {
          replica.pool.dispatch(
            { path: f.path, method: f.method, headers, body: payload },
            new StreamHandler(f.res, f.requestId, retryOnStatus, f.cancel, resolve),
          );
        });
        admission.release(replica);
        switch (outcome.kind) {
          case 'done':
            blame.answered(replica, outcome.status, since(started));
            return outcome.status;
          case 'retry':
            blame.answered(replica, outcome.status, since(started));
            observer.retry(f.model, String(outcome.status));
            continue;
          case 'broken':
            // The answer was cut mid-stream: what the client got is not the replica's status.
            failure(replica, f.cancel, outcome.error, started, uploading);
            return brokenStatus(f.cancel);
          case 'failed': {
            if (body.error) throw body.error; // the client's body failed (too large, too slow, client gone): not the replica's fault
            const final = failure(replica, f.cancel, outcome.error, started, uploading);
            if (final) throw final;
            (tried ??= new Set()).add(replica);
            if (n >= maxRetries || !hasAlternative(f.model, tried))
              throw new GpumuxError('UPSTREAM_FAILED', 'replica failed', { cause: outcome.error });
            observer.retry(f.model, 'connection');
            continue;
          }
        }
      }
    },

    async exchange(f) {
      const ctx: RoutingContext = { model: f.model, version: f.version, now: Date.now(), gpuOf };
      const signal = f.cancel.signal();
      let tried: Set<ReplicaRecord> | undefined;
      for (let n = 0; ; n++) {
        const replica = await admission.acquire(ctx, f.cancel, tried);
        (tried ??= new Set()).add(replica);
        const started = performance.now();
        const payload = f.body.buffer();
        let response: Dispatcher.ResponseData;
        try {
          response = await replica.pool.request({
            path: f.path,
            method: f.method,
            headers: f.headers,
            body: payload,
            signal,
          });
        } catch (err) {
          admission.release(replica);
          const final = failure(replica, f.cancel, err, started, unsentAfterWrite(payload));
          if (final) throw final;
          if (n >= maxRetries || !hasAlternative(f.model, tried))
            throw new GpumuxError('UPSTREAM_FAILED', 'replica failed', { cause: err });
          observer.retry(f.model, 'connection');
          continue;
        }
        if (retryableStatus(response.statusCode) && n < maxRetries && hasAlternative(f.model, tried)) {
          await response.body.dump().catch(() => undefined);
          admission.release(replica);
          blame.answered(replica, response.statusCode, since(started));
          observer.retry(f.model, String(response.statusCode));
          continue;
        }
        // The caller reads the body; the slot is given back once the body is finished with, either way.
        response.body.once('close', () => {
          admission.release(replica);
          if (response.body.readableEnded) blame.answered(replica, response.statusCode, since(started));
          else if (!f.cancel.aborted) blame.connectionFailed(replica, false);
        });
        return response;
      }
    },
  };
}
