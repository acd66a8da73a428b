import type { Logger } from '../../common/log.js';
import type { Clock } from '../types.js';
import type { ReplicaRecord } from './records.js';
import { isEjected } from './outlier-state.js';

/**
 * Outlier detection, Envoy's semantics in one place: a replica that fails `consecutiveFailures` times in a row
 * (its own faults only: connection failures, 5xx, deadlines longer than it normally needs — see
 * proxy/failure.ts) sits out a back-off that grows with each ejection (`base × 2^k`, capped at `max`), and
 * comes back only when a later `/v1/stats` poll finds it ready. At most `maxEjectionShare` of a model's
 * replicas that are up are ejected at once, rounded down, and never the last one: with two replicas, at most
 * one. A replica that stays in for `max` after its re-admission starts its back-off from `base` again.
 */
export interface OutlierOptions {
  consecutiveFailures: number;
  baseMs: number;
  maxMs: number;
  /** Largest share (0..1) of a model's replicas that are up which may be ejected at once. */
  maxEjectionShare: number;
  /** The replicas of the same model as `r` (including `r`). */
  peersOf: (r: ReplicaRecord) => readonly ReplicaRecord[];
  clock: Clock;
  logger: Logger;
  /** Observes ejections (metrics). */
  onEject?: (r: ReplicaRecord) => void;
}

export interface OutlierDetector {
  /** An answer that shows the replica works (2xx–4xx): the failure streak ends. */
  success(r: ReplicaRecord): void;
  /** A failure that is the replica's own; ejects it when the streak is long enough and the share allows. */
  failure(r: ReplicaRecord, reason: string): void;
  /** A poll answered: re-admits an ejected replica whose back-off has passed if it says it is ready. */
  polled(r: ReplicaRecord, ready: boolean): void;
}

/** Up: answered its last poll ready (ejected or not): the population the ejection share is taken of. */
function up(r: ReplicaRecord): boolean {
  return r.measurement.reachable && r.measurement.stats?.ready === true;
}

export function createOutlierDetector(options: OutlierOptions): OutlierDetector {
  const { consecutiveFailures, baseMs, maxMs, maxEjectionShare, peersOf, clock, logger, onEject } = options;

  /** May one more of r's peers be ejected without passing the share or ejecting the last one up? */
  function shareAllows(r: ReplicaRecord): boolean {
    let upCount = 0;
    let ejected = 0;
    for (const p of peersOf(r)) {
      if (isEjected(p)) ejected++;
      else if (up(p) && p !== r) upCount++;
    }
    const population = upCount + ejected + 1; // r itself counts as up: it was just routed to
    const allowed = Math.min(population - 1, Math.floor(population * maxEjectionShare));
    return ejected + 1 <= allowed;
  }

  return {
    success(r) {
      r.outlier.consecutiveFailures = 0;
    },
    failure(r, reason) {
      const o = r.outlier;
      o.consecutiveFailures++;
      if (o.ejectedUntil !== 0 || o.consecutiveFailures < consecutiveFailures) return;
      if (!shareAllows(r)) {
        logger.debug('replica not ejected: maximum ejection share reached', {
          replica: r.endpoint.id,
          reason,
          failures: o.consecutiveFailures,
        });
        return;
      }
      const now = clock.now();
      if (o.admittedAt !== 0 && now - o.admittedAt >= maxMs) o.ejections = 0; // stayed in long enough
      const backoffMs = Math.min(maxMs, baseMs * 2 ** o.ejections);
      o.ejections++;
      o.ejectedUntil = now + backoffMs;
      logger.warn('replica ejected', {
        replica: r.endpoint.id,
        reason,
        backoffMs,
        failures: o.consecutiveFailures,
      });
      onEject?.(r);
    },
    polled(r, ready) {
      const o = r.outlier;
      if (o.ejectedUntil === 0 || !ready || clock.now() < o.ejectedUntil) return;
      o.ejectedUntil = 0;
      o.consecutiveFailures = 0;
      o.admittedAt = clock.now();
      logger.info('replica re-admitted', { replica: r.endpoint.id });
    },
  };
}
