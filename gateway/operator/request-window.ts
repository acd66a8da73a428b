/**
 * Per-model requests over a sliding window (default 30 s) for /v1/cluster: rate, p95 and error rate.
 * A fixed ring of samples per model, so memory stays bounded whatever the load.
 */
export interface ModelWindowStats {
  requestRate: number;
  p95Seconds: number | null;
  errorRate: number;
}

export interface RequestWindow {
  record(model: string, seconds: number, failed: boolean): void;
  stats(model: string): ModelWindowStats;
}

const CAPACITY = 8192;

interface Ring {
  at: Float64Array;
  seconds: Float32Array;
  failed: Uint8Array;
  next: number;
  size: number;
}

export function createRequestWindow({
  windowMs = 30_000,
  now = Date.now,
}: { windowMs?: number; now?: () => number } = {}): RequestWindow {
  const rings = new Map<string, Ring>();
  return {
    record(model, seconds, failed) {
      let ring = rings.get(model);
      if (!ring) {
        ring = {
          at: new Float64Array(CAPACITY),
          seconds: new Float32Array(CAPACITY),
          failed: new Uint8Array(CAPACITY),
          next: 0,
          size: 0,
        };
        rings.set(model, ring);
      }
      const i = ring.next;
      ring.at[i] = now();
      ring.seconds[i] = seconds;
      ring.failed[i] = failed ? 1 : 0;
      ring.next = (i + 1) % CAPACITY;
      if (ring.size < CAPACITY) ring.size++;
    },
    stats(model) {
      const ring = rings.get(model);
      if (!ring) return { requestRate: 0, p95Seconds: null, errorRate: 0 };
      const t = now();
      const since = t - windowMs;
      const durations: number[] = [];
      let failed = 0;
      let oldest = t;
      for (let k = 0; k < ring.size; k++) {
        if (ring.at[k]! < since) continue;
        durations.push(ring.seconds[k]!);
        failed += ring.failed[k]!;
        oldest = Math.min(oldest, ring.at[k]!);
      }
      if (durations.length === 0) return { requestRate: 0, p95Seconds: null, errorRate: 0 };
      durations.sort((a, b) => a - b);
      // A full ring may cover less than the window: divide by the span it does cover.
      const spanMs = ring.size === CAPACITY ? Math.max(1, t - oldest) : windowMs;
      return {
        requestRate: durations.length / (spanMs / 1000),
        p95Seconds: durations[Math.min(durations.length - 1, Math.ceil(0.95 * durations.length) - 1)]!,
        errorRate: failed / durations.length,
      };
    },
  };
}
