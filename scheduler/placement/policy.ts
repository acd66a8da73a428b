import { formatBytes } from '../../common/bytes.js';
import { compareGpus, gpuId, type Gpu } from '../types.js';

/**
 * The one place that decides where a replica goes. Placement is filter → score → pick:
 * - filter (`fits`): the GPU is not cordoned, not kept free for another model, under the per-GPU cap, and the
 *   replica's footprint fits its headroom (capacity − used − reserve); otherwise it says why not;
 * - score, a tuple compared left to right, each part in [0, 1], higher is better:
 *   - `throughput` (default): the replica's marginal throughput. Replicas on one GPU time-slice its compute,
 *     so a replica adds most on an idle GPU, then on the GPU whose replicas leave it most idle (measured busy
 *     share where known, else one per replica); then fewer copies of the same model (failover); then the
 *     fuller GPU (keeps big holes for big models);
 *   - `binpack`: the GPU fullest after placing (fills GPUs one by one, leaving whole GPUs free for big models);
 *   - `spread`: the emptiest (and fewer copies of the same model);
 * - pick: highest score; ties go to the lowest node name, then GPU index, so plans are deterministic.
 */
export const POLICIES = ['throughput', 'binpack', 'spread'] as const;
export type Policy = (typeof POLICIES)[number];
export const DEFAULT_POLICY: Policy = 'throughput';

/** What one GPU holds during planning. */
export interface GpuUsage {
  gpu: Gpu;
  usedBytes: number;
  replicas: number;
  /** Replicas per model on this GPU (spread and throughput use it to keep copies of one model apart). */
  byModel: Map<string, number>;
  /** Excluded from new placements (e.g. marked after repeated crashes); what runs there stays counted. */
  cordoned: boolean;
  /**
   * Expected compute in use, in GPUs: the measured utilisation of what runs there, plus, for every replica the
   * measurement does not cover, the mean measured share per replica (1 when nothing is measured: a replica
   * is placed because demand wants it busy). May exceed 1.
   */
  busy: number;
  /** Kept free for a waiting model: other models place nothing new here. */
  reservedFor: string | null;
}

export interface FitOptions {
  reserveBytes: number;
  /** 0 = no cap. */
  maxReplicasPerGpu: number;
}

export type Fit = { ok: true } | { ok: false; reason: string };

export function headroomBytes(usage: GpuUsage, reserveBytes: number): number {
  return usage.gpu.memoryBytes - usage.usedBytes - reserveBytes;
}

/** Filter: may a replica of this model and footprint go on this GPU? If not, why not. */
export function fits(usage: GpuUsage, footprintBytes: number, options: FitOptions, model?: string): Fit {
  if (usage.cordoned) return { ok: false, reason: 'cordoned' };
  if (usage.reservedFor !== null && model !== undefined && model !== usage.reservedFor)
    return { ok: false, reason: `kept free for ${usage.reservedFor}` };
  if (options.maxReplicasPerGpu > 0 && usage.replicas >= options.maxReplicasPerGpu)
    return { ok: false, reason: `per-GPU cap of ${options.maxReplicasPerGpu} replicas reached` };
  const short = footprintBytes - headroomBytes(usage, options.reserveBytes);
  if (short > 0) return { ok: false, reason: `short by ${formatBytes(short)}` };
  return { ok: true };
}

/** Score tuple, compared left to right; higher is better. */
export function score(policy: Policy, usage: GpuUsage, footprintBytes: number, model: string): number[] {
  const after = Math.min(1, (usage.usedBytes + footprintBytes) / usage.gpu.memoryBytes);
  const sameModel = 1 / (1 + (usage.byModel.get(model) ?? 0));
  if (policy === 'binpack') return [after];
  if (policy === 'spread') return [(1 - after) * 0.9 + 0.1 * sameModel];
  return [1 / (1 + usage.busy), sameModel, after];
}

function compareScores(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (Math.abs(d) > 1e-12) return d;
  }
  return 0;
}

/** Why the pick went where it did, in the operator's words. */
function pickReason(policy: Policy, usage: GpuUsage): string {
  if (policy === 'binpack') return 'binpack: fullest GPU that fits';
  if (policy === 'spread') return 'spread: emptiest GPU that fits';
  if (usage.replicas === 0 && usage.busy === 0) return 'idle GPU';
  return `least busy GPU that fits (${usage.busy.toFixed(2)} GPU busy before)`;
}

export type Pick =
  { usage: GpuUsage; reason: string } | { usage: null; rejected: { gpu: string; reason: string }[] };

/** Pick: best score, deterministic tie-break by node then index; when nothing fits, every GPU's reason. */
export function pickGpu(
  policy: Policy,
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
    const s = score(policy, usage, footprint, model);
    const c = best ? compareScores(s, bestScore) : 1;
    if (c > 0 || (c === 0 && best && compareGpus(usage.gpu, best.gpu) < 0)) {
      best = usage;
      bestScore = s;
    }
  }
  return best ? { usage: best, reason: pickReason(policy, best) } : { usage: null, rejected };
}

/**
 * Which surplus replicas go first on scale-down, by the load of their GPU: binpack drains the emptiest GPUs
 * (consolidates), spread the fullest; throughput the GPU with the most replicas sharing its compute (the
 * replica that adds least), then the fullest.
 */
export function surplusOrder(
  policy: Policy,
  load: (r: { node: string; gpuIndex: number }) => { bytes: number; replicas: number },
): (a: { node: string; gpuIndex: number }, b: { node: string; gpuIndex: number }) => number {
  return (a, b) => {
    const la = load(a);
    const lb = load(b);
    if (policy === 'binpack') return lb.bytes - la.bytes;
    if (policy === 'spread') return la.bytes - lb.bytes;
    return la.replicas - lb.replicas || la.bytes - lb.bytes;
  };
}
