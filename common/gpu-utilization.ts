/**
 * GPU compute utilisation from what the replicas on one GPU report (`/v1/stats`), the one derivation the
 * gateway (routing, /metrics, /v1/cluster) and the scheduler (placement) share:
 * - `cuda`: nvidia-smi's `utilization.gpu` (`device.utilizationRatio`), the largest any replica on the GPU
 *   reports (each reads the same counter; the largest is the freshest upper bound);
 * - otherwise (virtual GPUs, or a `cuda` replica that has no reading): Σ of the replicas' `busyRatio` (share
 *   of time inside `session.run`), at most 1 — replicas time-slice one GPU, so their busy shares add up.
 *
 * It lives in common/ because the gateway and the scheduler both read it and neither may import the other.
 */
export interface UtilizationSample {
  device: { kind: 'cuda' | 'virtual' | 'cpu'; utilizationRatio?: number | null | undefined };
  busyRatio: number;
}

export interface GpuUtilization {
  /** 0..1 */
  ratio: number;
  /** `measured`: nvidia-smi; `busy-ratio`: derived from the replicas' busy shares. */
  source: 'measured' | 'busy-ratio';
}

/** null when no replica reported (nothing to derive it from). */
export function gpuUtilization(samples: Iterable<UtilizationSample>): GpuUtilization | null {
  let measured: number | null = null;
  let busy = 0;
  let any = false;
  for (const s of samples) {
    any = true;
    busy += s.busyRatio;
    const u = s.device.kind === 'cuda' ? s.device.utilizationRatio : null;
    if (typeof u === 'number') measured = Math.max(measured ?? 0, u);
  }
  if (!any) return null;
  if (measured !== null) return { ratio: Math.min(1, measured), source: 'measured' };
  return { ratio: Math.min(1, busy), source: 'busy-ratio' };
}
