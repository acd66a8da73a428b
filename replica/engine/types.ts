import type { Manifest } from '../../models/manifest/schema.js';
import type { ReplicaStats } from '../contract.js';

/**
 * The replica's engine: decode → pre-process → dynamic batcher → ONNX Runtime (in a worker thread) →
 * post-process. Every front end — the REST routes (replica/http), the KServe v2 gRPC server — talks only to
 * `Engine`, and calls it the same way:
 * - check readiness first where the protocol has its own answer (`engine.state === 'ready'`; detect/infer also
 *   throw NOT_READY / DRAINING themselves);
 * - `detect(bytes, { threshold, signal })` once per encoded image, or `infer(tensors, { outputs, signal })`
 *   with the request's tensors as `RawTensor`s (engine datatype names: FLOAT32, not FP32). All checks of the
 *   tensors against the model (names, datatypes, bucket shapes, batch ≤ maxBatch, data length, requested
 *   outputs) happen inside `infer`; a front end only parses its wire format;
 * - map a thrown `GpumuxError` by its `code` (common/errors.ts: HTTP status; gRPC: INVALID_ARGUMENT for 400s,
 *   RESOURCE_EXHAUSTED for 429, UNAVAILABLE for 503, CANCELLED for CLIENT_CLOSED, INTERNAL otherwise) and
 *   honour `retryAfterSeconds`;
 * - pass an AbortSignal that fires when the client goes away, so queued frames leave the queue.
 */

export interface Detection {
  /** xyxy in original-image pixels (after EXIF orientation), clamped to the image. */
  box: [number, number, number, number];
  score: number;
  label: number;
  name: string;
}

export interface FrameTimings {
  /** Header check, decode, EXIF rotation and keep-ratio resize (one libvips pipeline). */
  decodeMs: number;
  /** Padding into the bucket and (FLOAT32 inputs) normalisation: building the input row. */
  preprocessMs: number;
  queueMs: number;
  inferenceMs: number;
  postprocessMs: number;
  /** Size of the batch this frame ran in. */
  batchSize: number;
}

export interface FrameResult {
  /** Width and height of the image as oriented (EXIF applied). */
  width: number;
  height: number;
  detections: Detection[];
  timings: FrameTimings;
}

export interface DetectOptions {
  /** Score threshold; the manifest's default when absent. */
  threshold?: number;
  /** Aborts a frame still waiting in the queue (client went away). */
  signal?: AbortSignal;
}

/** A raw tensor as v2 infer carries it: row-major data of the given datatype. */
export interface RawTensor {
  name: string;
  datatype: 'UINT8' | 'FLOAT32' | 'FLOAT16' | 'INT64' | 'INT32' | 'BOOL';
  shape: number[];
  data: Uint8Array | Float32Array | BigInt64Array | Int32Array | Uint16Array;
}

/** Observations for metrics; every hook is optional and must not throw. */
export interface EngineHooks {
  onBatch?(info: { size: number; bucket: string; inferenceSeconds: number }): void;
  onQueueDepth?(depth: number): void;
  onFrame?(info: { preprocessSeconds: number; decodeSeconds: number }): void;
  /**
   * Output work after the run, per request: DETR post-processing (detect, one frame) or joining the rows'
   * outputs back into the request's tensors (v2 infer, `frames` = its batch). Triton's `compute_output`.
   */
  onOutput?(info: { frames: number; seconds: number }): void;
  /**
   * The engine cannot go on (CUDA out of memory while loading, warming up or serving; the session worker
   * died): it has already turned `failed` and refuses new work; the process should report it and exit
   * (replica/server.ts).
   */
  onFatal?(info: EngineFatal): void;
}

export interface EngineFatal {
  /**
   * `cuda-out-of-memory`: ONNX Runtime's CUDA provider ran out of GPU memory (the process exits 3);
   * `session-worker-exited`: the worker thread that owns the session died (the process exits 1);
   * `memory-budget-exceeded`: the budget's arena refused an allocation (the process exits 4; `error` is the
   * MEMORY_BUDGET_EXCEEDED GpumuxError naming the budget and what was asked).
   */
  reason: 'cuda-out-of-memory' | 'session-worker-exited' | 'memory-budget-exceeded';
  /** The device as `cuda:<n>` plus what telemetry knows (node, GPU index, uuid). */
  device: string;
  error: unknown;
}

export type EngineState = ReplicaStats['state'];

export interface Engine {
  readonly manifest: Manifest;
  readonly state: EngineState;
  /**
   * Loads the ONNX session, warms up at the largest bucket × max batch (so the footprint is final), then
   * state `ready`. Rejects (state `failed`) with a clear error, e.g. when the CUDA provider is missing.
   * The HTTP server is already listening meanwhile: live is true, ready is false.
   */
  start(): Promise<void>;
  /**
   * One image (encoded bytes) to detections. Each call is one frame in the batcher.
   * Throws GpumuxError: INVALID_IMAGE, IMAGE_TOO_LARGE, QUEUE_FULL (retryAfterSeconds set), DRAINING,
   * NOT_READY, CLIENT_CLOSED (signal aborted), INFERENCE_FAILED.
   */
  detect(image: Uint8Array, options?: DetectOptions): Promise<FrameResult>;
  /**
   * v2 infer: the model's own input tensor(s), batch dimension first. Shapes must be one of the manifest's
   * buckets and batch ≤ maxBatch (INVALID_TENSOR otherwise). Each batch row joins the batcher as one frame;
   * outputs come back concatenated in request order, named as the model names them.
   */
  infer(inputs: RawTensor[], options?: { signal?: AbortSignal; outputs?: string[] }): Promise<RawTensor[]>;
  /**
   * Model metadata for v2 `GET /v2/models/{m}`: the ONNX session's input/output names, datatypes, shapes.
   * Datatypes use RawTensor's names (`UINT8`, `FLOAT32`, `INT64`, ...; map `FLOAT32` → `FP32`, `FLOAT16` →
   * `FP16` for the protocol); dynamic dimensions are -1. Before `start()` has loaded the session, inputs
   * come from the manifest and outputs are empty.
   */
  metadata(): {
    inputs: { name: string; datatype: string; shape: number[] }[];
    outputs: { name: string; datatype: string; shape: number[] }[];
  };
  stats(): ReplicaStats;
  /** Stop accepting new frames (state `draining`); resolves when queued and running frames are done. */
  drain(): Promise<void>;
  /** Release the ONNX session. */
  close(): Promise<void>;
}

/** `max`: every bucket at max batch (the footprint for life); `all`: then every smaller batch too. */
export type WarmupBatches = 'max' | 'all';

export interface EngineOptions {
  modelDir: string;
  /** Overrides the manifest's ONNX path. */
  onnxPath?: string;
  /** The version served and reported, instead of the manifest's (the scheduler pins versions side by side). */
  modelVersion?: string;
  /** `cpu` or `cuda:<n>` (the ONNX Runtime device id, as this process sees the GPUs). */
  device: string;
  /**
   * Node-level index of the GPU (`--gpu-index` / `GPUMUX_GPU_INDEX`), reported in /v1/stats; it differs from
   * the `cuda:<n>` id under CUDA_VISIBLE_DEVICES or inside a pinned container. Default: nvidia-smi's index.
   */
  gpuIndex?: number;
  allowCpuFallback?: boolean;
  replicaId: string;
  node: string;
  virtualGpu?: {
    node: string;
    index: number;
    capacityBytes: number;
    usedByOthersBytes: number;
    footprintBytes?: number;
  };
  maxBatch?: number;
  maxQueue?: number;
  /**
   * Warm-up batch sizes (replica/engine/warmup.ts): `max` (default; every bucket at max batch) or `all` (then
   * every smaller batch too). Default: env GPUMUX_WARMUP_BATCHES, else `max`.
   */
  warmupBatches?: WarmupBatches;
  /**
   * How long warm-up may take before whatever supervises the replica gives up on it (the startup probe, the
   * local orchestrator): reported in /v1/stats and warned about once the estimate passes it. Never enforced here.
   */
  warmupBudgetMs?: number;
  /** intra-op threads for ONNX Runtime (CPU EP). */
  threads?: number;
  /**
   * Everything ONNX Runtime allocates for the session, bounded by ONNX Runtime's own arena (memory-budget.ts):
   * a model needing more fails warm-up with MEMORY_BUDGET_EXCEEDED (the process exits 4). Default: unbounded.
   */
  memoryBudgetBytes?: number;
  /**
   * Where `session.run()` runs: `worker` (default; a worker thread, the event loop stays free) or `main` (the
   * old path: the event loop blocks for the whole inference; kept for comparison). Default: env
   * GPUMUX_SESSION_THREAD, else `worker`.
   */
  sessionThread?: SessionThread;
  hooks?: EngineHooks;
}

export type SessionThread = 'worker' | 'main';

/** Implemented in replica/engine/create-engine.ts; returns at once in state `loading`; call `start()`. */
export type CreateEngine = (options: EngineOptions) => Engine;
