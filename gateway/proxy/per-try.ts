import { latencySeconds, outstanding, type ReplicaRecord } from '../inventory/records.js';

export interface PerTryTimeoutOptions {
  /** × what the replica normally needs. */
  multiple: number;
  minMs: number;
  maxMs: number;
}

/** A try cut because the replica did not start answering within its per-try timeout. */
export class PerTryTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within the per-try timeout (${Math.round(timeoutMs)} ms)`);
    this.name = 'PerTryTimeoutError';
  }
}

/**
 * How long a try on `r` may go without the replica starting to answer (Envoy's per-try timeout, derived
 * rather than fixed): `multiple` × what it normally needs — its latency EWMA (the gateway's, else its
 * reported batch service time) plus one service time per full batch queued ahead of this request — clamped
 * to [minMs, maxMs]. A replica nothing is known about yet gets maxMs: its first answers set the EWMA.
 *
 * A stopped process (SIGSTOP, a frozen node) still accepts TCP connections: only this timeout tells.
 *
 * @example
 * perTryTimeoutMs(replica, { multiple: 4, minMs: 1000, maxMs: 30_000 }); // 0.25 s EWMA, idle → 1000
 */
export function perTryTimeoutMs(r: ReplicaRecord, { multiple, minMs, maxMs }: PerTryTimeoutOptions): number {
  const latency = latencySeconds(r);
  const stats = r.measurement.stats;
  const service = stats?.ewmaServiceSeconds || latency;
  if (latency === 0 && service === 0) return maxMs;
  // This try is already counted in the replica's outstanding work.
  const batchesAhead = Math.floor(Math.max(0, outstanding(r) - 1) / (stats?.maxBatch ?? 1));
  const expectedMs = (latency + batchesAhead * service) * 1000;
  return Math.min(maxMs, Math.max(minMs, multiple * expectedMs));
}
