import type { ReplicaFailure } from './orchestrators/types.js';

/**
 * Failure feedback for GPUs: a GPU whose replicas crash repeatedly (not OOM — that raises the model's
 * footprint instead) is cordoned for a while: it takes no new replicas, and the plan places them elsewhere.
 */
export interface GpuHealthOptions {
  /** Crashes within `windowMs` that cordon a GPU. */
  crashThreshold?: number;
  windowMs?: number;
  cordonMs?: number;
  now?: () => number;
}

export interface GpuHealth {
  recordFailure(gpu: string, failure: ReplicaFailure): boolean;
  cordoned(): string[];
}

export function createGpuHealth(options: GpuHealthOptions = {}): GpuHealth {
  const { crashThreshold = 3, windowMs = 5 * 60_000, cordonMs = 10 * 60_000, now = Date.now } = options;
  const crashes = new Map<string, number[]>();
  const until = new Map<string, number>();
  return {
    recordFailure(gpu, failure) {
      if (failure.kind !== 'crash') return false;
      const t = now();
      const recent = [...(crashes.get(gpu) ?? []).filter((x) => t - x < windowMs), t];
      crashes.set(gpu, recent);
      if (recent.length < crashThreshold) return false;
      until.set(gpu, t + cordonMs);
      crashes.set(gpu, []);
      return true;
    },
    cordoned() {
      const t = now();
      return [...until]
        .filter(([, u]) => u > t)
        .map(([g]) => g)
        .sort();
    },
  };
}
