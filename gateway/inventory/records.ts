import type { Pool } from 'undici';
import type { ReplicaStats } from '../../replica/contract.js';
import type { ReplicaEndpoint } from '../types.js';
import { isEjected, newOutlierState, type OutlierState } from './outlier-state.js';

/** What a replica last reported, and how reaching it went: the measurements, apart from who exists. */
export interface Measurement {
  stats: ReplicaStats | null;
  /** Last poll failed (connection, status, schema). */
  reachable: boolean;
  lastError: string | null;
  lastPolledAt: number;
  /** The gateway's own in-flight count when the stats came back: reported − this = other clients' work. */
  ownInFlightAtPoll: number;
}

/** Gateway-side view of the traffic it sends to one replica. */
export interface Traffic {
  inFlight: number;
  /** EWMA of the gateway-measured request latency, seconds (0 before the first response). */
  ewmaSeconds: number;
}

export interface ReplicaRecord {
  endpoint: ReplicaEndpoint;
  /** Keep-alive connections to this replica, and only to it: the one way the gateway reaches an upstream. */
  pool: Pool;
  measurement: Measurement;
  traffic: Traffic;
  /** Failure streak and ejection (owned by outlier.ts). */
  outlier: OutlierState;
  /** GPU key (uuid, else `<node>/<index>`, `<node>/cpu` for CPU replicas); null before the first stats. */
  gpuKey: string | null;
  /** `model:version` once known. */
  modelKey: string | null;
}

export function newRecord(endpoint: ReplicaEndpoint, pool: Pool): ReplicaRecord {
  return {
    endpoint,
    pool,
    measurement: { stats: null, reachable: false, lastError: null, lastPolledAt: 0, ownInFlightAtPoll: 0 },
    traffic: { inFlight: 0, ewmaSeconds: 0 },
    outlier: newOutlierState(),
    gpuKey: null,
    modelKey: null,
  };
}

/**
 * Outstanding work: the gateway's own in-flight requests plus what others (other gateway copies, direct
 * clients) had in flight at the last poll — reported in-flight minus ours at that moment, never negative.
 */
export function outstanding(r: ReplicaRecord): number {
  const reported = r.measurement.stats?.inFlight ?? 0;
  return r.traffic.inFlight + Math.max(0, reported - r.measurement.ownInFlightAtPoll);
}

/** Can serve now: reachable and ready at the last poll, not ejected. */
export function servable(r: ReplicaRecord): boolean {
  return r.measurement.reachable && r.measurement.stats?.ready === true && !isEjected(r);
}

export function gpuKeyOf(stats: ReplicaStats): string {
  const d = stats.device;
  if (d.uuid) return d.uuid;
  if (d.index !== null) return `${d.node}/${d.index}`;
  return `${d.node}/cpu`;
}

export function modelKeyOf(model: string, version: string): string {
  return `${model}:${version}`;
}

/** Latency used for routing: the gateway's own EWMA, else the replica's reported batch service time. */
export function latencySeconds(r: ReplicaRecord): number {
  return r.traffic.ewmaSeconds > 0 ? r.traffic.ewmaSeconds : (r.measurement.stats?.ewmaServiceSeconds ?? 0);
}
