/** The operator's picture of the cluster: served at GET /v1/cluster and drawn by gateway/ui. See docs/contracts.md §6. */
import type { PlanView } from '../../common/plan-view.js';

export type { PlanAction, PlanGpu, PlanView } from '../../common/plan-view.js';
export interface ReplicaView {
  id: string;
  url: string;
  model: string;
  version: string;
  state: 'loading' | 'warming' | 'ready' | 'draining' | 'failed' | 'unreachable';
  footprintBytes: number;
  inFlight: number;
  queueLength: number;
  ewmaServiceSeconds: number;
  ejected: boolean;
  consecutiveFailures: number;
}

export interface GpuView {
  /** uuid, or `<node>/<index>`. */
  id: string;
  node: string;
  index: number | null;
  name: string | null;
  virtual: boolean;
  memoryTotalBytes: number;
  memoryUsedBytes: number;
  memoryReservedBytes: number;
  /** total − used − reserved, ≥ 0. */
  memoryHeadroomBytes: number;
  /** used / total. */
  memoryUtilization: number;
  /**
   * Compute utilisation 0..1: nvidia-smi's on `cuda`, Σ of the replicas' busy shares on virtual GPUs
   * (common/gpu-utilization.ts); null when no replica reports.
   */
  computeUtilization: number | null;
  computeSource: 'measured' | 'busy-ratio' | null;
  /** Headroom below the critical threshold: routing avoids this GPU. */
  critical: boolean;
  inFlight: number;
  busyReplicas: number;
  replicas: ReplicaView[];
}

export interface ModelView {
  name: string;
  version: string;
  replicas: number;
  readyReplicas: number;
  /** Requests per second over the last 30 s. */
  requestRate: number;
  p95Seconds: number | null;
  /** Share of requests that failed over the last 30 s, 0..1. */
  errorRate: number;
  /**
   * Requests waiting at this gateway for a replica of the model (the scheduler's client-side demand). The
   * model's, as is `p95Seconds` and the rates: every version's row repeats them.
   */
  queued: number;
  /**
   * This version's weight in the configured `versions.split` for the model; absent when the model has no
   * split. A version the split names shows as a row even with no replica (`replicas: 0`).
   */
  splitWeight?: number;
  /** Its share of the model's unversioned requests, weight / Σ weights (0..1); absent without a split. */
  splitShare?: number;
  /**
   * The last time routing found no replica for this model (503 NO_REPLICA, 404 VERSION_NOT_FOUND), and the
   * routing filter that left no candidate (`ready`, `not-ejected`, …); absent when it never happened.
   */
  lastRoutingFailure?: { filter: string; code: string; at: string };
}

export interface ClusterView {
  generatedAt: string;
  totals: {
    gpus: number;
    replicas: number;
    readyReplicas: number;
    memoryTotalBytes: number;
    memoryUsedBytes: number;
    memoryHeadroomBytes: number;
    /** used / total, 0..1 — the number the seed measured at 40 %. */
    memoryUtilization: number;
    /** Mean compute utilisation over the GPUs that report one, 0..1; null when none does. */
    computeUtilization: number | null;
  };
  /** Sorted by node, then index. */
  gpus: GpuView[];
  unplaced: { id: string; url: string; state: 'unreachable' | 'unknown'; lastError: string | null }[];
  models: ModelView[];
  plan: PlanView | null;
}
