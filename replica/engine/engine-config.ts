import { bucketKey, type Bucket } from '../../models/detr/letterbox.js';
import { loadModelSync } from '../../models/manifest/load.js';
import { declaredFootprintAt, type DeclaredFootprint } from '../../models/manifest/memory.js';
import type { Manifest } from '../../models/manifest/schema.js';
import { inferBodyLimit } from '../body-limits.js';
import { parseDevice, type DeviceRequest } from './device-request.js';
import { inputSpecsOf, type InputSpec } from './infer-validation.js';
import type { EngineOptions, SessionThread } from './types.js';
import { warmupBatchesOf, warmupPlan, type WarmupStep } from './warmup.js';

/** What an engine runs with, fixed for its life: the options and the manifest, resolved and checked. */
export interface EngineConfig {
  manifest: Manifest;
  onnxPath: string;
  /** The device asked for (a permitted CPU fall-back may run the model elsewhere). */
  device: DeviceRequest;
  maxBatch: number;
  maxQueue: number;
  maxInferBodyBytes: number;
  specs: InputSpec[];
  buckets: Map<string, Bucket>;
  warmupSteps: WarmupStep[];
  /** What this replica declares until it has measured itself: the figure for the max batch it runs with. */
  declared: DeclaredFootprint;
}

/**
 * Reads and validates the manifest synchronously (so `engine.manifest` exists at once, and a bad manifest or
 * device throws before anything starts) and settles every figure the engine derives from it.
 */
export function resolveEngineConfig(options: EngineOptions, env: NodeJS.ProcessEnv): EngineConfig {
  const model = loadModelSync(options.modelDir);
  const manifest = options.modelVersion
    ? { ...model.manifest, version: options.modelVersion }
    : model.manifest;
  const device = parseDevice(options.device);
  if (device.kind === 'cuda' && options.virtualGpu)
    throw new Error('--virtual-gpu is for CPU replicas; drop it or use --device cpu');
  const maxBatch = options.maxBatch ?? manifest.batching.maxBatch;
  // a full v2 batch must fit an empty queue, or a request of maxBatch rows could never be served
  const maxQueue = Math.max(options.maxQueue ?? manifest.batching.maxQueue, maxBatch);
  return {
    manifest,
    onnxPath: options.onnxPath ?? model.onnxPath,
    device,
    maxBatch,
    maxQueue,
    maxInferBodyBytes: inferBodyLimit(manifest, maxBatch),
    specs: inputSpecsOf(manifest),
    buckets: new Map(manifest.preprocess.buckets.map((b) => [bucketKey(b), b])),
    warmupSteps: warmupPlan(
      manifest.preprocess.buckets,
      maxBatch,
      options.warmupBatches ?? warmupBatchesOf(env.GPUMUX_WARMUP_BATCHES),
    ),
    declared: declaredFootprintAt(manifest, maxBatch),
  };
}

/** `sessionThread` option, else GPUMUX_SESSION_THREAD (`worker` | `main`), else `worker`. */
export function sessionThreadOf(options: EngineOptions, env: NodeJS.ProcessEnv): SessionThread {
  const value = options.sessionThread ?? env.GPUMUX_SESSION_THREAD?.trim() ?? 'worker';
  if (value !== 'worker' && value !== 'main')
    throw new Error(`GPUMUX_SESSION_THREAD must be worker or main, got "${value}"`);
  return value;
}
