import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ReplicaRecord } from '../inventory/records.js';
import { exchange, type ExchangeRequest } from './exchange.js';
import { upstreamHeaders } from './headers.js';
import { StreamHandler, brokenStatus, type AttemptOutcome } from './stream-handler.js';
import {
  armPerTry,
  failure,
  hasAlternative,
  nextTry,
  retryOrThrow,
  routingContext,
  since,
  unsentAfterWrite,
  type ForwarderOptions,
  type ProxiedRequest,
  type Try,
  type TryDeps,
} from './tries.js';

/** Outcome hooks (metrics, sliding window): one call per answered client request. */
export interface ForwardObserver {
  done(model: string, status: number, seconds: number): void;
}

/** A request the HTTP layer has parsed and whose body it holds. */
export interface ForwardRequest extends ProxiedRequest {
  req: IncomingMessage;
  res: ServerResponse;
}

export interface Forwarder {
  /**
   * Sends the request to a replica and streams the answer to the client; on a refused/reset connection or a
   * retryable status (502/503/504/429) tries another replica, at most maxRetries more, while the deadline
   * allows. Resolves with the status the client got; rejects with a GpumuxError when nothing was sent.
   */
  forward(f: ForwardRequest): Promise<number>;
  /** One request whose answer the caller reads (split multi-frame detect); routed and retried the same way. */
  exchange(f: ExchangeRequest): Promise<Dispatcher.ResponseData>;
}

/** The forwarder: forward() and exchange() over its options; each step is a function of its own (tries.ts). */
export function createForwarder(options: ForwarderOptions): Forwarder {
  const { inventory } = options;
  const d: TryDeps = { ...options, gpuOf: (r: ReplicaRecord) => inventory.gpu(r.gpuKey) };
  return {
    forward: (f) => forward(d, f),
    exchange: (f) => exchange(d, f),
  };
}

/** See Forwarder.forward. */
async function forward(d: TryDeps, f: ForwardRequest): Promise<number> {
  const { body } = f;
  const headers = upstreamHeaders(
    f.req.headers,
    f.requestId,
    f.method === 'GET' ? null : body.complete ? body.length : body.declared,
  );
  const ctx = routingContext(d, f);
  const tried = new Set<ReplicaRecord>();
  for (let n = 0; ; n++) {
    const t = await nextTry(d, ctx, f.cancel, n, tried);
    // The first attempt may stream a large body as it arrives; a retry re-sends the held chunks.
    if (n > 0) await body.whole();
    const { outcome, cutByPerTry, uploading } = await streamTry(d, f, headers, t);
    switch (outcome.kind) {
      case 'done':
        d.blame.answered(t.replica, outcome.status, since(t.started));
        return outcome.status;
      case 'retry':
        d.blame.answered(t.replica, outcome.status, since(t.started));
        d.retryBudget.withdraw(f.model); // allowed at dispatch; a race may have spent it since: retried anyway
        d.observer.retry(f.model, String(outcome.status));
        continue;
      case 'broken':
        // The answer was cut mid-stream: what the client got is not the replica's status.
        failure(d, t, outcome.error, uploading);
        return brokenStatus(f.cancel);
      case 'failed':
        if (body.error) throw body.error; // the client's body failed (too large, too slow, client gone): not the replica's fault
        retryOrThrow(d, t, outcome.error, cutByPerTry, uploading);
        continue;
    }
  }
}

/** Sends one try and streams its answer to the client (unless it is a status worth retrying elsewhere). */
async function streamTry(
  d: TryDeps,
  f: ForwardRequest,
  headers: Record<string, string | string[]>,
  t: Try,
): Promise<{ outcome: AttemptOutcome; cutByPerTry: boolean; uploading: boolean }> {
  const { body } = f;
  // Retry on a status only if another replica could take it within the budget; otherwise the replica's
  // answer goes out. (Taken from the budget when the retry happens.)
  const retryOnStatus =
    t.n < d.maxRetries && hasAlternative(d, t.model, t.tried) && d.retryBudget.allows(t.model);
  let cutByPerTry = false;
  let disarm: (() => void) | undefined;
  let handler: StreamHandler | undefined;
  // The per-try clock starts once the whole body is with the replica: a slow client is not the replica's fault.
  const arm = () => {
    disarm = armPerTry(d, t, (err) => {
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
  d.admission.release(t.replica);
  return { outcome, cutByPerTry, uploading };
}
