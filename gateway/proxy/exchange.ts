import type { Dispatcher } from 'undici';
import type { ReplicaRecord } from '../inventory/records.js';
import { retryableStatus } from './stream-handler.js';
import {
  armPerTry,
  mayRetry,
  nextTry,
  retryOrThrow,
  routingContext,
  since,
  unsentAfterWrite,
  type ProxiedRequest,
  type TryDeps,
} from './tries.js';

/** A request whose answer the caller reads, with the headers to send upstream. */
export type ExchangeRequest = ProxiedRequest & { headers: Record<string, string | string[]> };

/**
 * One request whose answer the caller reads (split multi-frame detect), routed and retried the way
 * forward() is; the replica's slot is given back once the caller is finished with the body.
 */
export async function exchange(d: TryDeps, f: ExchangeRequest): Promise<Dispatcher.ResponseData> {
  const ctx = routingContext(d, f);
  const tried = new Set<ReplicaRecord>();
  for (let n = 0; ; n++) {
    const t = await nextTry(d, ctx, f.cancel, n, tried);
    const { replica } = t;
    const payload = f.body.buffer();
    const perTry = new AbortController();
    const disarm = armPerTry(d, t, (err) => perTry.abort(err));
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
      d.admission.release(replica);
      retryOrThrow(d, t, err, perTry.signal.aborted, unsentAfterWrite(payload));
      continue;
    }
    disarm();
    if (retryableStatus(response.statusCode) && mayRetry(d, t)) {
      await response.body.dump().catch(() => undefined);
      d.admission.release(replica);
      d.blame.answered(replica, response.statusCode, since(t.started));
      d.observer.retry(f.model, String(response.statusCode));
      continue;
    }
    // The caller reads the body; the slot is given back once the body is finished with, either way.
    response.body.once('close', () => {
      d.admission.release(replica);
      if (response.body.readableEnded) d.blame.answered(replica, response.statusCode, since(t.started));
      else if (!f.cancel.aborted) d.blame.connectionFailed(replica, false);
    });
    return response;
  }
}
