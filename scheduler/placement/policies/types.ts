import type { GpuUsage } from '../fit.js';

/** What the replicas a plan keeps hold on one GPU: surplus order reads it. */
export interface GpuLoad {
  bytes: number;
  replicas: number;
}

/**
 * A placement policy (scheduler/placement/policy.ts names them): how it scores a GPU that passed the filter
 * (fit.ts), why it picked one, and which surplus replicas go first. `name` is the config's `policy`.
 */
export interface PlacementPolicy {
  readonly name: string;
  /** A tuple compared left to right, each part in [0, 1]; higher is better. */
  readonly score: (usage: GpuUsage, footprintBytes: number, model: string) => number[];
  /** Why the pick went to this GPU, in the operator's words. */
  readonly reason: (usage: GpuUsage) => string;
  /**
   * Scale-down, by the load of the replicas' GPUs: sorted by this, a model's running replicas are kept from
   * the front and the surplus goes from the back (negative: the replica on `a` is kept before the one on `b`).
   */
  readonly surplusOrder: (a: GpuLoad, b: GpuLoad) => number;
  /**
   * With finite demand, first try placing each model's new replicas whole, heaviest compute first (plan.ts),
   * before rounds that share scarce memory fairly between models.
   */
  readonly wholeModelsFirst: boolean;
  /** What `gpumux plan` adds when GPUs stay idle under this policy (plan-report.ts); none: the general note. */
  readonly idleNote?: string;
}

/** Memory used on the GPU after placing, as a share of its capacity (at most 1). */
export const fullnessAfter = (usage: GpuUsage, footprintBytes: number): number =>
  Math.min(1, (usage.usedBytes + footprintBytes) / usage.gpu.memoryBytes);

/** 1 with no copy of `model` on the GPU, ½ with one, …: keeps copies of one model apart (failover). */
export const fewerCopies = (usage: GpuUsage, model: string): number =>
  1 / (1 + (usage.byModel.get(model) ?? 0));
