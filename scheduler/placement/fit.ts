import { formatBytes } from '../../common/bytes.js';
import type { Gpu } from '../types.js';

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

/**
 * The filter, the same for every policy: the GPU is not cordoned, not kept free for another model, under the
 * per-GPU cap, and the replica's footprint fits its headroom (capacity − used − reserve); otherwise why not.
 */
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
