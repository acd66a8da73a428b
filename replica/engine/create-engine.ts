import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { GpumuxError } from '../../common/errors.js';
import { createLogger } from '../../common/log.js';
import { bucketKey, type Bucket } from '../../models/detr/letterbox.js';
import { postprocess } from '../../models/detr/postprocess.js';
import { loadModelSync } from '../../models/manifest/load.js';
import type { ReplicaStats } from '../contract.js';
import { createPreprocessor } from '../image/preprocess.js';
import { configureSharp } from '../image/sharp-config.js';
import { createDeviceTelemetry, type DeviceTelemetry } from '../telemetry/device.js';
import { resolveGpuIdentity } from '../telemetry/gpu-identity.js';
import type { NvidiaSmi } from '../telemetry/nvidia-smi.js';
import { processRssBytes } from '../telemetry/rss.js';
import { createBatcher } from './batcher.js';
import { createBusyTracker } from './busy.js';
import { inputSpecsOf, validateInferInputs } from './infer-validation.js';
import {
  checkSessionNames,
  createRowRunner,
  toDetrOutputs,
  warmUp,
  type OutputRows,
  type Rows,
} from './model-runner.js';
import { isCudaOutOfMemory } from './cuda-oom.js';
import { loadSession, parseDevice, type DeviceRequest } from './session.js';
import { concatRows, fromOrtType, type TensorData } from './tensors.js';
import type {
  CreateEngine,
  Detection,
  Engine,
  EngineFatal,
  EngineOptions,
  EngineState,
  FrameResult,
  RawTensor,
} from './types.js';

const STATS_REFRESH_MS = 2000;

/**
 * The replica engine: decode → pre-process → dynamic batcher → ONNX Runtime → post-process.
 * @example
 * const engine = createEngine({ modelDir: 'models/shapes', device: 'cpu', replicaId: 'r1', node: 'local' });
 * await engine.start();
 * const { detections } = await engine.detect(jpegBytes, { threshold: 0.5 });
 */
/** What tests may replace: the session loader (e.g. a real CPU session wrapped to fail like CUDA does). */
export interface EngineDeps {
  loadSession?: typeof loadSession;
  smi?: NvidiaSmi;
  env?: NodeJS.ProcessEnv;
}

export const createEngine: CreateEngine = (options) => buildEngine(options, {});

/** createEngine with injected dependencies (tests). */
export const engineFactory =
  (deps: EngineDeps): CreateEngine =>
  (options) =>
    buildEngine(options, deps);

function buildEngine(options: EngineOptions, deps: EngineDeps): Engine {
  const { loadSession: load = loadSession, smi, env = process.env } = deps;
  const {
    modelDir,
    onnxPath: onnxOverride,
    allowCpuFallback = false,
    replicaId,
    node,
    virtualGpu,
    gpuIndex,
    threads,
    hooks = {},
  } = options;
  const model = loadModelSync(modelDir); // synchronous, so `engine.manifest` exists at once
  const { manifest } = model;
  const onnxPath = onnxOverride ?? model.onnxPath;
  const device = parseDevice(options.device);
  if (device.kind === 'cuda' && virtualGpu)
    throw new Error('--virtual-gpu is for CPU replicas; drop it or use --device cpu');
  const maxBatch = options.maxBatch ?? manifest.batching.maxBatch;
  // a full v2 batch must fit an empty queue, or a request of maxBatch rows could never be served
  const maxQueue = Math.max(options.maxQueue ?? manifest.batching.maxQueue, maxBatch);
  const log = createLogger({ component: 'engine', model: manifest.name, replicaId });
  const specs = inputSpecsOf(manifest);
  const buckets = new Map<string, Bucket>(manifest.preprocess.buckets.map((b) => [bucketKey(b), b]));
  configureSharp();
  const preprocess = createPreprocessor({ manifest });
  const busy = createBusyTracker();
  const runRows = createRowRunner({ specs, busy });
  const startedAt = new Date();

  let state: EngineState = 'loading';
  let session: ort.InferenceSession | null = null;
  let telemetry: DeviceTelemetry = createDeviceTelemetry({
    kind: device.kind,
    ...(device.kind === 'cuda' ? cudaIdentity(device.index, gpuIndex, env) : {}),
    node,
    declaredBytes: manifest.memory.declaredBytes,
    ...(virtualGpu ? { virtualGpu } : {}),
    ...(smi ? { smi } : {}),
  });
  /** What runs the model: the device asked for, or the CPU after a permitted fall-back. */
  let runningOn: DeviceRequest = device;
  let fatal: EngineFatal | null = null;
  let refreshTimer: NodeJS.Timeout | null = null;
  let active = 0;
  let idleWaiters: (() => void)[] = [];
  const totals = { requests: 0, frames: 0, errors: 0 };

  const safeHook = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      log.warn('engine hook threw', { err });
    }
  };

  const exiting = (cause?: unknown) =>
    new GpumuxError('NOT_READY', 'replica ran out of CUDA memory and is exiting; retry on another replica', {
      retryAfterSeconds: 1,
      ...(cause === undefined ? {} : { cause }),
    });

  /**
   * A CUDA out-of-memory error leaves the session in doubt: turn `failed` (no new work), stop running batches
   * and tell the process (hooks.onFatal), which reports it and exits. Returns whether the error was one.
   */
  const failOnCudaOom = (err: unknown): boolean => {
    if (runningOn.kind !== 'cuda' || !isCudaOutOfMemory(err)) return false;
    if (fatal) return true;
    state = 'failed';
    if (refreshTimer) clearInterval(refreshTimer);
    refreshTimer = null;
    const d = telemetry.device();
    const gpu = [d.index === null ? null : `GPU ${d.index}`, d.uuid].filter(Boolean).join(' ');
    fatal = {
      reason: 'cuda-out-of-memory',
      device: `cuda:${runningOn.index} (node ${d.node}${gpu ? `, ${gpu}` : ''})`,
      error: err,
    };
    const info = fatal;
    safeHook(() => hooks.onFatal?.(info));
    return true;
  };

  const batcher = createBatcher<Rows, OutputRows>({
    maxBatch,
    maxQueue,
    run: async (key, items) => {
      if (fatal) throw exiting(); // frames still queued behind the failed batch never touch the session
      try {
        return await runRows(session, buckets.get(key)!, items);
      } catch (err) {
        if (failOnCudaOom(err)) throw exiting(err);
        throw err;
      }
    },
    onQueueDepth: (depth) => safeHook(() => hooks.onQueueDepth?.(depth)),
    onBatch: (info) =>
      safeHook(() =>
        hooks.onBatch?.({ size: info.size, bucket: info.key, inferenceSeconds: info.runSeconds }),
      ),
  });

  const accepting = () => {
    if (state === 'draining')
      throw new GpumuxError('DRAINING', 'replica is draining', { retryAfterSeconds: 1 });
    if (state !== 'ready')
      throw new GpumuxError('NOT_READY', `replica is ${state}`, {
        retryAfterSeconds: state === 'failed' ? 30 : 2,
      });
  };

  /** Counts a detect/infer call as outstanding work until it settles (drain waits for it). */
  async function tracked<T>(frames: number, work: () => Promise<T>): Promise<T> {
    accepting();
    totals.requests++;
    totals.frames += frames;
    active++;
    try {
      return await work();
    } catch (err) {
      totals.errors++;
      throw err;
    } finally {
      active--;
      if (active === 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        waiters.forEach((w) => w());
      }
    }
  }

  const engine: Engine = {
    manifest,
    get state() {
      return state;
    },

    async start() {
      if (state !== 'loading') throw new Error(`engine already started (state ${state})`);
      const t0 = performance.now();
      try {
        try {
          await telemetry.beforeLoad();
        } catch (err) {
          log.warn('nvidia-smi unavailable before load; footprint falls back to the declared value', { err });
        }
        const loaded = await load({
          onnxPath,
          device,
          allowCpuFallback,
          ...(threads ? { threads } : {}),
          logger: log,
        });
        runningOn = loaded.device;
        if (loaded.fellBack) {
          // the device actually used is the CPU: report it as such, never as the GPU asked for
          telemetry = createDeviceTelemetry({
            kind: 'cpu',
            node,
            declaredBytes: manifest.memory.declaredBytes,
          });
        }
        checkSessionNames(loaded.session, manifest, specs, onnxPath);
        session = loaded.session;
        state = 'warming';
        await warmUp({
          run: (bucket, rows) => runRows(session, bucket, rows),
          buckets: manifest.preprocess.buckets,
          specs,
          maxBatch,
          log,
        });
        try {
          await telemetry.afterWarmup();
        } catch (err) {
          log.warn('could not measure the footprint after warm-up; reporting the declared value', { err });
        }
        refreshTimer = setInterval(() => void telemetry.refresh(), STATS_REFRESH_MS);
        refreshTimer.unref();
        if ((state as EngineState) === 'warming') state = 'ready'; // a drain during warm-up wins
        log.info('engine ready', {
          device: loaded.device.kind === 'cuda' ? `cuda:${loaded.device.index}` : 'cpu',
          footprint: telemetry.footprint(),
          ms: Math.round(performance.now() - t0),
        });
      } catch (err) {
        state = 'failed';
        log.error('engine failed to start', { err });
        failOnCudaOom(err); // an OOM while loading or warming up is the GPU's headroom, not a broken model
        throw err;
      }
    },

    detect(image, detectOptions = {}) {
      const { threshold = manifest.postprocess.scoreThreshold, signal } = detectOptions;
      return tracked(1, async () => {
        if (!(threshold >= 0 && threshold <= 1))
          throw new GpumuxError('INVALID_PARAMETER', `threshold must be within 0..1, got ${threshold}`);
        const frame = await preprocess(image);
        safeHook(() =>
          hooks.onFrame?.({
            decodeSeconds: frame.decodeMs / 1000,
            preprocessSeconds: (frame.decodeMs + frame.tensorMs) / 1000,
          }),
        );
        const sub = await batcher.submit(bucketKey(frame.letterbox.bucket), frame.rows, signal);
        const t0 = performance.now();
        const boxes = postprocess(toDetrOutputs(manifest.outputs, sub.result), {
          letterbox: frame.letterbox,
          threshold,
          topK: manifest.postprocess.topK,
          nms: manifest.postprocess.nms,
          graphUpscale: manifest.preprocess.graphUpscale,
        });
        const detections: Detection[] = boxes.map((b) => ({
          box: b.box.map((v) => Math.round(v * 100) / 100) as Detection['box'],
          score: b.score,
          label: b.label,
          name: manifest.labels[b.label] ?? String(b.label),
        }));
        const result: FrameResult = {
          width: frame.width,
          height: frame.height,
          detections,
          timings: {
            decodeMs: frame.decodeMs,
            preprocessMs: frame.tensorMs,
            queueMs: sub.queueMs,
            inferenceMs: sub.runMs,
            postprocessMs: performance.now() - t0,
            batchSize: sub.batchSize,
          },
        };
        return result;
      });
    },

    infer(inputs, inferOptions = {}) {
      const { signal, outputs: wanted } = inferOptions;
      return (async () => {
        accepting();
        const { batch, bucket } = validateInferInputs(inputs, specs, manifest.preprocess.buckets, maxBatch);
        const outputNames = session!.outputNames;
        const unknown = (wanted ?? []).filter((n) => !outputNames.includes(n));
        if (unknown.length)
          throw new GpumuxError(
            'INVALID_TENSOR',
            `unknown output(s) ${unknown.join(', ')}; the model has ${outputNames.join(', ')}`,
          );
        if (batcher.queueLength + batch > maxQueue) {
          throw new GpumuxError('QUEUE_FULL', `queue is full (${batcher.queueLength} frames waiting)`, {
            retryAfterSeconds:
              Math.max(batcher.ewmaServiceSeconds, 0.05) * (batcher.queueLength / maxBatch + 1),
          });
        }
        return tracked(batch, async () => {
          const byName = new Map(inputs.map((t) => [t.name, t]));
          const key = bucketKey(bucket);
          const rows = Array.from({ length: batch }, (_, i) => {
            const row: Rows = {};
            for (const spec of specs) {
              const data = byName.get(spec.name)!.data;
              const per = data.length / batch;
              row[spec.name] = data.subarray(i * per, (i + 1) * per) as TensorData;
            }
            return row;
          });
          const results = await Promise.all(rows.map((row) => batcher.submit(key, row, signal)));
          return (wanted ?? outputNames).map((name): RawTensor => {
            const first = results[0]!.result[name]!;
            return {
              name,
              datatype: first.datatype,
              shape: [batch, ...first.shape],
              data: concatRows(results.map((r) => r.result[name]!.data)),
            };
          });
        });
      })();
    },

    metadata() {
      const describe = (m: readonly ort.InferenceSession.ValueMetadata[]) =>
        m.map((v) => ({
          name: v.name,
          datatype: v.isTensor ? (fromOrtType(v.type) ?? v.type.toUpperCase()) : 'UNKNOWN',
          shape: v.isTensor ? v.shape.map((d) => (typeof d === 'number' ? d : -1)) : [],
        }));
      if (session)
        return { inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) };
      // before load: what the manifest promises (dims unknown until the session says)
      return {
        inputs: specs.map((s) => ({
          name: s.name,
          datatype: s.datatype,
          shape: [-1, ...s.rowShape([-1, -1])],
        })),
        outputs: [],
      };
    },

    stats(): ReplicaStats {
      return {
        replicaId,
        model: manifest.name,
        version: manifest.version,
        state,
        ready: state === 'ready',
        device: telemetry.device(),
        footprint: telemetry.footprint(),
        queueLength: batcher.queueLength,
        queueCapacity: maxQueue,
        inFlight: batcher.queueLength + batcher.running,
        maxBatch,
        ewmaServiceSeconds: batcher.ewmaServiceSeconds,
        busyRatio: busy.ratio(),
        processRssBytes: processRssBytes(),
        startedAt: startedAt.toISOString(),
        uptimeSeconds: (Date.now() - startedAt.getTime()) / 1000,
        requestsTotal: totals.requests,
        framesTotal: totals.frames,
        errorsTotal: totals.errors,
      };
    },

    async drain() {
      if (state === 'ready' || state === 'loading' || state === 'warming') state = 'draining';
      if (active > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
      await batcher.drain();
    },

    async close() {
      if (refreshTimer) clearInterval(refreshTimer);
      refreshTimer = null;
      const s = session;
      session = null;
      if (state !== 'failed') state = 'draining';
      await s?.release();
    },
  };
  return engine;
}

/** Which GPU nvidia-smi measures and which index to report (gpu-identity.ts). */
function cudaIdentity(
  deviceIndex: number,
  gpuIndex: number | undefined,
  env: NodeJS.ProcessEnv,
): { smiId: string; index?: number } {
  const id = resolveGpuIdentity({ deviceIndex, ...(gpuIndex === undefined ? {} : { gpuIndex }), env });
  return { smiId: id.smiId, ...(id.index === null ? {} : { index: id.index }) };
}
