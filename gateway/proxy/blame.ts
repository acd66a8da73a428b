import type { Inventory } from '../inventory/inventory.js';
import { latencySeconds, type ReplicaRecord } from '../inventory/records.js';

/**
 * Failure accounting: which outcomes of an attempt are the replica's own fault, so that outlier detection
 * (inventory/outlier.ts) only ever sees those. A client must not be able to eject a healthy replica:
 *
 * - a 2xx, 3xx or 4xx is an answer (a 4xx says the request was wrong): the failure streak ends;
 * - a 429 is "busy", neither failure nor proof of health;
 * - a 5xx is a failure (the replica's defect even when an input triggered it; the ejection share keeps a model
 *   served);
 * - a deadline counts only when the attempt ran longer than the replica normally needs: `latencyMultiple` × its
 *   latency EWMA, and at least `minChargedDeadlineMs` — a client that asks for 5 ms is not the replica's problem;
 * - a try cut by its per-try timeout counts: that timeout is already a multiple of what the replica normally
 *   needs (proxy/per-try.ts), and a hung replica (SIGSTOP, a frozen node) is seen no other way;
 * - a connection failure counts, unless the body was still being written: a replica that answers early (413,
 *   400, 503) and closes makes the gateway's write fail, and that is the replica refusing, not failing;
 * - the client leaving is never the replica's fault.
 */
export interface BlameOptions {
  inventory: Pick<Inventory, 'outliers' | 'recordLatency'>;
  latencyMultiple: number;
  minChargedDeadlineMs: number;
}

export interface Blame {
  /** The replica answered `status` after `seconds`. */
  answered(r: ReplicaRecord, status: number, seconds: number): void;
  /** The request's deadline expired `seconds` into this attempt. */
  expired(r: ReplicaRecord, seconds: number): void;
  /** The replica did not start answering within its per-try timeout. */
  tryTimedOut(r: ReplicaRecord): void;
  /** The connection failed (refused, reset, cut mid-answer); `uploading`: the body was not all written yet. */
  connectionFailed(r: ReplicaRecord, uploading: boolean): void;
}

export function createBlame({ inventory, latencyMultiple, minChargedDeadlineMs }: BlameOptions): Blame {
  const { outliers } = inventory;
  return {
    answered(r, status, seconds) {
      if (status >= 500) outliers.failure(r, `status ${status}`);
      else if (status !== 429) {
        outliers.success(r);
        if (status < 300) inventory.recordLatency(r, seconds);
      }
    },
    expired(r, seconds) {
      const needs = Math.max(minChargedDeadlineMs / 1000, latencyMultiple * latencySeconds(r));
      if (seconds >= needs) outliers.failure(r, 'deadline');
    },
    tryTimedOut(r) {
      outliers.failure(r, 'per-try timeout');
    },
    connectionFailed(r, uploading) {
      if (!uploading) outliers.failure(r, 'connection');
    },
  };
}
