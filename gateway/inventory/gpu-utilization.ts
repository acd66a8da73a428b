import { gpuUtilization, type GpuUtilization } from '../../common/gpu-utilization.js';
import type { ReplicaStats } from '../../replica/contract.js';
import type { GpuRecord } from './gpus.js';
import type { ReplicaRecord } from './records.js';

const statsOf = (records: Iterable<ReplicaRecord>): ReplicaStats[] => {
  const out: ReplicaStats[] = [];
  for (const r of records) if (r.measurement.stats) out.push(r.measurement.stats);
  return out;
};

/** The GPU's compute utilisation from its replicas' last stats (common/gpu-utilization.ts has the rule). */
export function gpuRecordUtilization(g: GpuRecord): GpuUtilization | null {
  return gpuUtilization(statsOf(g.replicas));
}

/**
 * The compute share the *other* replicas on `self`'s GPU take (0..1): nvidia-smi's reading minus `self`'s
 * busy share where measured, else Σ of the others' busy shares.
 */
export function othersUtilization(g: GpuRecord, self: ReplicaRecord): number {
  const all = gpuRecordUtilization(g);
  if (!all) return 0;
  const own = self.measurement.stats?.busyRatio ?? 0;
  if (all.source === 'measured') return Math.max(0, all.ratio - own);
  return gpuUtilization(statsOf(g.replicas.filter((r) => r !== self)))?.ratio ?? 0;
}
