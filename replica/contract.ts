import { z } from 'zod';

/**
 * What a replica reports at `GET /v1/stats`. The gateway (routing inventory) and the scheduler (measured
 * footprints, demand) read replicas only through this contract; it is the one type they share with replica/.
 */
export const DeviceStats = z.object({
  /** `cuda`: a real GPU measured with nvidia-smi; `virtual`: a CPU replica standing for a configured GPU; `cpu`: neither. */
  kind: z.enum(['cuda', 'virtual', 'cpu']),
  /** Kubernetes node name (or the host name / configured node locally). */
  node: z.string(),
  /** GPU index on that node; null on `cpu`. */
  index: z.number().int().nonnegative().nullable(),
  /** GPU UUID from nvidia-smi (`GPU-…`), `virtual-<node>-<index>` for virtual GPUs, null on `cpu`. */
  uuid: z.string().nullable(),
  /** Product name, e.g. `NVIDIA GeForce RTX 4090`; `virtual` for virtual GPUs. */
  name: z.string().nullable(),
  /** GPU memory capacity in bytes (nvidia-smi memory.total, or the configured virtual capacity). */
  memoryTotalBytes: z.number().nonnegative().nullable(),
  /**
   * GPU memory in use in bytes as the replica sees it: nvidia-smi memory.used on `cuda`; on `virtual`, the
   * configured memory used by others on that GPU (`--virtual-gpu-used`) plus this replica's footprint.
   */
  memoryUsedBytes: z.number().nonnegative().nullable(),
  /**
   * GPU compute utilisation 0..1 (nvidia-smi `utilization.gpu` / 100) on `cuda`; absent or null where it is not
   * measured (`virtual`, `cpu`): readers derive a virtual GPU's share from its replicas' `busyRatio`.
   */
  utilizationRatio: z.number().min(0).max(1).nullable().optional(),
  /** True when nothing here was measured on a real GPU. */
  virtual: z.boolean(),
});

export const FootprintStats = z.object({
  /** Bytes this replica holds for life after warm-up (see DESIGN: predictable footprint). */
  bytes: z.number().nonnegative(),
  /**
   * How it was obtained: `gpu-used-delta` (GPU used memory after warm-up minus before load, on `cuda`),
   * `configured` (virtual: `--virtual-footprint`, else the manifest's declared value), `rss` (cpu).
   */
  method: z.enum(['gpu-used-delta', 'configured', 'declared', 'rss']),
  /** Peak bytes observed so far (≥ bytes on a GPU if anything grew after warm-up). */
  peakBytes: z.number().nonnegative(),
});

/**
 * Warm-up progress: one step is one zero batch (bucket × batch) run before the replica turns ready
 * (replica/engine/warmup.ts). A slow graph (Co-DETR on a CPU: minutes a step) shows here that it is working.
 */
export const WarmupStats = z.object({
  /** Steps finished, of `total`. */
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  /** The step running now (1-based), null when none is. */
  current: z
    .object({
      step: z.number().int().positive(),
      bucket: z.string(),
      batch: z.number().int().positive(),
      elapsedMs: z.number().nonnegative(),
    })
    .nullable(),
  /** Since warm-up began (0 before it began; fixed once it ended). */
  elapsedMs: z.number().nonnegative(),
  /** Estimated time left from the time per frame so far; null before the first step ended. */
  etaMs: z.number().nonnegative().nullable(),
  /** The warm-up budget the replica was given (`--warmup-budget`), if any. */
  budgetMs: z.number().positive().optional(),
  /** Every step ran. */
  finished: z.boolean(),
});

export const ReplicaStats = z.object({
  replicaId: z.string(),
  model: z.string(),
  version: z.string(),
  /** Lifecycle: `loading` → `warming` → `ready`; `draining` after SIGTERM or POST /v1/drain; `failed` if load failed. */
  state: z.enum(['loading', 'warming', 'ready', 'draining', 'failed']),
  ready: z.boolean(),
  device: DeviceStats,
  footprint: FootprintStats,
  /** Frames waiting for the model (not yet in a running batch). */
  queueLength: z.number().int().nonnegative(),
  queueCapacity: z.number().int().nonnegative(),
  /** Frames in a running batch plus frames queued: the replica's outstanding work. */
  inFlight: z.number().int().nonnegative(),
  maxBatch: z.number().int().positive(),
  /** Warm-up progress (absent from replicas older than this field). */
  warmup: WarmupStats.optional(),
  /**
   * Largest image (detect) body this replica accepts, bytes (its manifest's `maxBodyBytes`); the gateway refuses
   * larger detect bodies itself.
   */
  maxBodyBytes: z.number().int().positive().optional(),
  /** Largest v2 infer body, bytes: raw tensors grow with the max batch; absent → `maxBodyBytes`. */
  maxInferBodyBytes: z.number().int().positive().optional(),
  /** EWMA of one batch's model run time, seconds (0 before the first request). */
  ewmaServiceSeconds: z.number().nonnegative(),
  /** Share of the last few seconds the model was running (0..1). */
  busyRatio: z.number().min(0).max(1),
  processRssBytes: z.number().nonnegative(),
  startedAt: z.string(),
  uptimeSeconds: z.number().nonnegative(),
  /** Totals since start, so readers can compute rates. */
  requestsTotal: z.number().int().nonnegative(),
  framesTotal: z.number().int().nonnegative(),
  errorsTotal: z.number().int().nonnegative(),
});

export type ReplicaStats = z.infer<typeof ReplicaStats>;
export type DeviceStats = z.infer<typeof DeviceStats>;
export type FootprintStats = z.infer<typeof FootprintStats>;
export type WarmupStats = z.infer<typeof WarmupStats>;
