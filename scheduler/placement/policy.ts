import { compareGpus, type Gpu } from '../types.js';

/**
 * The one place that decides binpack vs spread. Placement is filter → score → pick:
 * - filter: the replica's footprint fits the GPU's headroom (capacity − used − reserve) and the per-GPU cap;
 * - score in [0, 1]: binpack prefers the GPU that is fullest after placing (fills GPUs one by one, leaving
 *   whole GPUs free for big models); spread prefers the emptiest (fewest replicas sharing compute);
 * - pick: highest score; ties go to the lowest node name, then GPU index, so plans are deterministic.
 */
export type Policy = 'binpack' | 'spread';

/** What one GPU holds during planning. */
export interface GpuUsage {
  gpu: Gpu;
  usedBytes: number;
  replicas: number;
  /** Replicas per model on this GPU (spread uses it to keep copies of one model apart). */
  byModel: Map<string, number>;
  /** Excluded from new placements (e.g. marked after repeated crashes); what runs there stays counted. */
  cordoned: boolean;
}

export interface FitOptions {
  reserveBytes: number;
  /** 0 = no cap. */
  maxReplicasPerGpu: number;
}

export function headroomBytes(usage: GpuUsage, reserveBytes: number): number {
  return usage.gpu.memoryBytes - usage.usedBytes - reserveBytes;
}

/** Filter: may a replica of this footprint go on this GPU? */
export function fits(usage: GpuUsage, footprintBytes: number, options: FitOptions): boolean {
  if (usage.cordoned) return false;
  if (options.maxReplicasPerGpu > 0 && usage.replicas >= options.maxReplicasPerGpu) return false;
  return headroomBytes(usage, options.reserveBytes) >= footprintBytes;
}

/** Score in [0, 1]; higher is better. */
export function score(policy: Policy, usage: GpuUsage, footprintBytes: number, model: string): number {
  const after = Math.min(1, (usage.usedBytes + footprintBytes) / usage.gpu.memoryBytes);
  if (policy === 'binpack') return after;
  // spread: emptiest GPU first; among equally empty ones, fewer copies of the same model.
  const sameModel = usage.byModel.get(model) ?? 0;
  return (1 - after) * 0.9 + 0.1 / (1 + sameModel);
}

/** Pick: best score, deterministic tie-break by node then index. Returns undefined when nothing fits. */
export function pickGpu(
  policy: Policy,
  usages: GpuUsage[],
  footprintOf: (gpu: Gpu) => number,
  model: string,
  options: FitOptions,
): GpuUsage | undefined {
  let best: GpuUsage | undefined;
  let bestScore = -Infinity;
  for (const usage of usages) {
    const footprint = footprintOf(usage.gpu);
    if (!fits(usage, footprint, options)) continue;
    const s = score(policy, usage, footprint, model);
    if (
      s > bestScore + 1e-12 ||
      (Math.abs(s - bestScore) <= 1e-12 && best && compareGpus(usage.gpu, best.gpu) < 0)
    ) {
      best = usage;
      bestScore = s;
    }
  }
  return best;
}
