import type { MeasuredUtilization } from './placement/planning.js';

/** What one pass learns from the replicas' /v1/stats. */
export interface Observation {
  /** Per model version (its label): Σ in-flight over ready replicas, and how many are ready. */
  load: Map<string, { inFlight: number; ready: number }>;
  /** Per GPU id: compute utilisation of what reports there (common/gpu-utilization.ts). */
  utilization: MeasuredUtilization;
  /** Per model version (its label): mean busy share of its ready replicas (the compute one replica takes), where any reports. */
  modelBusy: Map<string, number>;
  /** Same, with where each number comes from (for /metrics). */
  utilizationSources: { gpu: string; ratio: number; source: string }[];
}
