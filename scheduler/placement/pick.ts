import { compareGpus, gpuId, type Gpu } from '../types.js';
import { fits, type FitOptions, type GpuUsage } from './fit.js';
import type { PlacementPolicy } from './policies/types.js';

function compareScores(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (Math.abs(d) > 1e-12) return d;
  }
  return 0;
}

export type Pick =
  { usage: GpuUsage; reason: string } | { usage: null; rejected: { gpu: string; reason: string }[] };

/**
 * Filter (fit.ts), score (the policy), pick: best score, deterministic tie-break by node then index; when
 * nothing fits, every GPU's reason.
 */
export function pickGpu(
  policy: PlacementPolicy,
  usages: GpuUsage[],
  footprintOf: (gpu: Gpu) => number,
  model: string,
  options: FitOptions,
): Pick {
  let best: GpuUsage | undefined;
  let bestScore: number[] = [];
  const rejected: { gpu: string; reason: string }[] = [];
  for (const usage of usages) {
    const footprint = footprintOf(usage.gpu);
    const fit = fits(usage, footprint, options, model);
    if (!fit.ok) {
      rejected.push({ gpu: gpuId(usage.gpu), reason: fit.reason });
      continue;
    }
    const s = policy.score(usage, footprint, model);
    const c = best ? compareScores(s, bestScore) : 1;
    if (c > 0 || (c === 0 && best && compareGpus(usage.gpu, best.gpu) < 0)) {
      best = usage;
      bestScore = s;
    }
  }
  return best ? { usage: best, reason: policy.reason(best) } : { usage: null, rejected };
}
