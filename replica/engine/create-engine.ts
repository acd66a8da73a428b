import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { NOT_READY_RETRY_AFTER_SECONDS } from '../../common/back-pressure.js';
import { GpumuxError } from '../../common/errors.js';
import { createLogger } from '../../common/log.js';
import { bucketKey, type Bucket } from '../../models/detr/letterbox.js';
import { loadModelSync } from '../../models/manifest/load.js';
import { declaredFootprintAt } from '../../models/manifest/memory.js';
import { inferBodyLimit } from '../body-limits.js';
import type { ReplicaStats } from '../contract.js';
import { createPreprocessor } from '../image/preprocess.js';
import { configureSharp } from '../image/sharp-config.js';
import type { NvidiaSmi } from '../telemetry/nvidia-smi.js';
import { processRssBytes } from '../telemetry/rss.js';
import { createBatcher } from './batcher.js';
import { createBusyTracker } from './busy.js';
import { isCudaOutOfMemory } from './cuda-oom.js';
import { createDetect } from './detect.js';
import { createInfer } from './infer.js';
import { formatDevice, parseDevice, type DeviceRequest } from './device-request.js';
import { cudaOomFaultFrom } from './fault-injection.js';
import { budgetShortfall, memoryBudgetError } from './memory-budget.js';
import { inputSpecsOf } from './infer-validation.js';
import { inThreadSession, type ModelSession } from './model-session.js';
import { checkSessionNames, createRowRunner, type OutputRows, type Rows } from './model-runner.js';
import { loadSession } from './load-session.js';
import { createEngineState } from './state.js';
import { createEngineTelemetry } from './telemetry.js';
import { fromOrtType } from './tensors.js';
import type { CreateEngine, Engine, EngineOptions, EngineState, SessionThread } from './types.js';
import { openWorkerSession } from './worker-session-client.js';
import { createWarmupProgress, warmUp, warmupBatchesOf, warmupPlan } from './warmup.js';

/**
 * The replica engine, composed: decode → pre-process → dynamic batcher → ONNX Runtime (in a worker thread)
 * → post-process. The parts live beside it: state.ts (lifecycle, outstanding work), telemetry.ts (device and
 * footprint), detect.ts (one image), infer.ts (v2 tensors), batcher.ts, worker-session-client.ts / worker-session-thread.ts
 * (the session off the event loop), model-runner.ts (one batch), warmup.ts (warm-up steps and progress).
 *
 * @example
 * const engine = createEngine({ modelDir: 'models/shapes', device: 'cpu', replicaId: 'r1', node: 'local' });
 * await engine.start();
 * const { detections } = await engine.detect(jpegBytes, { threshold: 0.5 });
 */
export const createEngine: CreateEngine = (options) => buildEngine(options, {});

/** What tests may replace. */
export interface EngineDeps {
  /**
   * The session loader (e.g. a real CPU session wrapped to fail like CUDA does). A function cannot cross into a
   * worker thread, so an injected loader runs its session on the main thread.
   */
  loadSession?: typeof loadSession;
  /** Opens the session in a worker (tests wrap the real one to reach the worker and end it). */
  openWorkerSession?: typeof openWorkerSession;
  smi?: NvidiaSmi;
  env?: NodeJS.ProcessEnv;
}

/** createEngine with injected dependencies (tests). */
export const engineFactory =
  (deps: EngineDeps): CreateEngine =>
  (options) =>
    buildEngine(options, deps);

/** `sessionThread` option, else GPUMUX_SESSION_THREAD (`worker` | `main`), else `worker`. */
export function sessionThreadOf(options: EngineOptions, env: NodeJS.ProcessEnv): SessionThread {
  const value = options.sessionThread ?? env.GPUMUX_SESSION_THREAD?.trim() ?? 'worker';
  if (value !== 'worker' && value !== 'main')
    throw new Error(`GPUMUX_SESSION_THREAD must be worker or main, got "${value}"`);
  return value;
}

function buildEngine(options: EngineOptions, deps: EngineDeps): Engine {
  const { smi, env = process.env } = deps;
  const { modelDir, allowCpuFallback = false, replicaId, node, virtualGpu, gpuIndex, threads } = options;
  const { memoryBudgetBytes } = options;
  const hooks = options.hooks ?? {};
  const model = loadModelSync(modelDir); // synchronous, so `engine.manifest` exists at once
  const manifest = options.modelVersion
    ? { ...model.manifest, version: options.modelVersion }
    : model.manifest;
  const onnxPath = options.onnxPath ?? model.onnxPath;
  const device = parseDevice(options.device);
  if (device.kind === 'cuda' && virtualGpu)
    throw new Error('--virtual-gpu is for CPU replicas; drop it or use --device cpu');
  const thread = deps.loadSession ? 'main' : sessionThreadOf(options, env);
  const maxBatch = options.maxBatch ?? manifest.batching.maxBatch;
  // a full v2 batch must fit an empty queue, or a request of maxBatch rows could never be served
  const maxQueue = Math.max(options.maxQueue ?? manifest.batching.maxQueue, maxBatch);
  const maxInferBodyBytes = inferBodyLimit(manifest, maxBatch); // fixed for the engine's life
  const log = createLogger({ component: 'engine', model: manifest.name, replicaId });
  const specs = inputSpecsOf(manifest);
  const buckets = new Map<string, Bucket>(manifest.preprocess.buckets.map((b) => [bucketKey(b), b]));
  configureSharp();
  const busy = createBusyTracker();
  const runRows = createRowRunner({ specs, busy });
  const startedAt = new Date();
  const warmupSteps = warmupPlan(
    manifest.preprocess.buckets,
    maxBatch,
    options.warmupBatches ?? warmupBatchesOf(env.GPUMUX_WARMUP_BATCHES),
  );
  const { warmupBudgetMs } = options;
  const warmup = createWarmupProgress({
    steps: warmupSteps,
    ...(warmupBudgetMs !== undefined ? { budgetMs: warmupBudgetMs } : {}),
  });

  const safeHook = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      log.warn('engine hook threw', { err });
    }
  };
  // what this replica declares until it has measured itself: the figure for the max batch it runs with
  const declared = declaredFootprintAt(manifest, maxBatch);
  const telemetry = createEngineTelemetry({
    device,
    ...(gpuIndex === undefined ? {} : { gpuIndex }),
    node,
    declaredBytes: declared.bytes,
    ...(virtualGpu ? { virtualGpu } : {}),
    ...(smi ? { smi } : {}),
    env,
  });
  const life = createEngineState({
    onFatal: (info) => {
      telemetry.stop();
      safeHook(() => hooks.onFatal?.(info));
    },
  });
  let session: ModelSession | null = null;
  /** What runs the model: the device asked for, or the CPU after a permitted fall-back. */
  let runningOn: DeviceRequest = device;

  const exiting = (cause?: unknown) =>
    new GpumuxError('NOT_READY', 'replica cannot go on and is exiting; retry on another replica', {
      retryAfterSeconds: NOT_READY_RETRY_AFTER_SECONDS,
      ...(cause === undefined ? {} : { cause }),
    });

  /**
   * Out of memory leaves the session in doubt: fail (no new work) and exit. The budget's arena refusing an
   * allocation (any device) is a fact about the model's footprint; a CUDA OOM one about the GPU's headroom.
   * Returns whether it was either.
   */
  const failOnCudaOom = (err: unknown, injected = false): boolean => {
    const shortfall = memoryBudgetBytes === undefined ? null : budgetShortfall(err, memoryBudgetBytes);
    if (shortfall) {
      life.fail({
        reason: 'memory-budget-exceeded',
        device: formatDevice(runningOn),
        error: memoryBudgetError(shortfall, err),
      });
      return true;
    }
    if ((runningOn.kind !== 'cuda' && !injected) || !isCudaOutOfMemory(err)) return false;
    const d = telemetry.current().device();
    const gpu = [d.index === null ? null : `GPU ${d.index}`, d.uuid].filter(Boolean).join(' ');
    life.fail({
      reason: 'cuda-out-of-memory',
      device: `${formatDevice(runningOn)} (node ${d.node}${gpu ? `, ${gpu}` : ''})`,
      error: err,
    });
    return true;
  };
  /** The session worker died (native crash, uncaught error): nothing can run any more. */
  const onWorkerExit = (error: Error) => {
    log.error('the session worker ended', { err: error });
    life.fail({ reason: 'session-worker-exited', device: formatDevice(runningOn), error });
  };

  const oomFault = cudaOomFaultFrom(); // test-only (fault-injection.ts); null unless its variable is set
  const batcher = createBatcher<Rows, OutputRows>({
    maxBatch,
    maxQueue,
    run: async (key, items) => {
      if (life.fatal) throw exiting(); // frames still queued behind the failed batch never touch the session
      try {
        oomFault?.beforeBatch();
      } catch (err) {
        failOnCudaOom(err, true);
        throw exiting(err);
      }
      try {
        return await runRows(session, buckets.get(key)!, items);
      } catch (err) {
        if (failOnCudaOom(err) || life.fatal) throw exiting(err);
        throw err;
      }
    },
    onQueueDepth: (depth) => safeHook(() => hooks.onQueueDepth?.(depth)),
    onBatch: (info) =>
      safeHook(() =>
        hooks.onBatch?.({ size: info.size, bucket: info.key, inferenceSeconds: info.runSeconds }),
      ),
  });

  const detect = createDetect({
    manifest,
    preprocess: createPreprocessor({ manifest }),
    batcher,
    onFrame: (info) => safeHook(() => hooks.onFrame?.(info)),
    onOutput: (info) => safeHook(() => hooks.onOutput?.(info)),
  });
  const infer = createInfer({
    specs,
    buckets: manifest.preprocess.buckets,
    batcher,
    maxBatch,
    maxQueue,
    outputNames: () => session?.outputNames ?? [],
    onOutput: (info) => safeHook(() => hooks.onOutput?.(info)),
  });

  const openSession = async (): Promise<ModelSession> => {
    const request = {
      onnxPath,
      device,
      allowCpuFallback,
      graphOptimization: manifest.onnx.graphOptimization,
      ...(threads ? { threads } : {}),
      ...(memoryBudgetBytes !== undefined ? { memoryBudget: { bytes: memoryBudgetBytes } } : {}),
    };
    if (deps.loadSession)
      return inThreadSession(await deps.loadSession({ ...request, logger: log }), ort.Tensor);
    if (thread === 'main') return inThreadSession(await loadSession({ ...request, logger: log }), ort.Tensor);
    const open = deps.openWorkerSession ?? openWorkerSession;
    return open(request, { onExit: onWorkerExit, logger: log });
  };

  // the warm-up while it runs: a drain and close() wait for its running step, so the session is never released
  // under a run, and the warm-up gets to log where it stopped
  let warming: Promise<boolean> | null = null;
  let closed = false;

  const engine: Engine = {
    manifest,
    get state() {
      return life.current;
    },

    async start() {
      if (life.current !== 'loading') throw new Error(`engine already started (state ${life.current})`);
      const t0 = performance.now();
      try {
        try {
          await telemetry.current().beforeLoad();
        } catch (err) {
          log.warn('nvidia-smi unavailable before load; footprint falls back to the declared value', { err });
        }
        const loaded = await openSession();
        if (closed) {
          // close() ran while the model loaded: nothing will release this session but us
          await loaded.release().catch(() => undefined);
          return;
        }
        session = loaded; // released below if anything after this fails
        runningOn = loaded.device;
        // the device actually used is the CPU: report it as such, never as the GPU asked for
        if (loaded.fellBack) telemetry.fellBackToCpu();
        checkSessionNames(loaded, manifest, specs, onnxPath);
        if (life.current !== 'loading') {
          log.info('engine start ended by a drain during load', { ms: Math.round(performance.now() - t0) });
          return; // never ready; close() releases the session
        }
        life.set('warming');
        warming = warmUp({
          run: (bucket, rows) => runRows(session, bucket, rows),
          steps: warmupSteps,
          specs,
          progress: warmup,
          log,
          ...(warmupBudgetMs !== undefined ? { budgetMs: warmupBudgetMs } : {}),
          stopped: () => life.current !== 'warming', // a drain (SIGTERM) ends it after the running step
        });
        const complete = await warming;
        if (!complete) {
          log.info('engine start ended by a drain during warm-up', {
            ms: Math.round(performance.now() - t0),
          });
          return; // never ready; close() releases the session
        }
        try {
          await telemetry.current().afterWarmup();
        } catch (err) {
          log.warn('could not measure the footprint after warm-up; reporting the declared value', { err });
        }
        telemetry.startRefreshing();
        if ((life.current as EngineState) === 'warming') life.set('ready'); // a drain during warm-up wins
        log.info('engine ready', {
          device: formatDevice(loaded.device),
          sessionThread: thread,
          footprint: telemetry.current().footprint(),
          declared: { bytes: declared.bytes, maxBatch, source: declared.source },
          ms: Math.round(performance.now() - t0),
        });
      } catch (err) {
        life.set('failed');
        log.error('engine failed to start', { err });
        failOnCudaOom(err); // an OOM while loading or warming up is the GPU's headroom, not a broken model
        const opened = session;
        session = null;
        await opened?.release().catch(() => undefined);
        throw err;
      }
    },

    detect(image, detectOptions = {}) {
      return life.tracked(1, () => detect(image, detectOptions));
    },

    async infer(inputs, inferOptions = {}) {
      life.accepting();
      const work = infer.check(inputs, inferOptions.outputs);
      return life.tracked(work.batch, () => infer.run(work, inferOptions.signal));
    },

    metadata() {
      const describe = (m: ModelSession['inputMetadata']) =>
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
      const state = life.current;
      return {
        replicaId,
        model: manifest.name,
        version: manifest.version,
        state,
        ready: state === 'ready',
        device: telemetry.current().device(),
        footprint: telemetry.current().footprint(),
        queueLength: batcher.queueLength,
        queueCapacity: maxQueue,
        inFlight: batcher.queueLength + batcher.running,
        maxBatch,
        warmup: warmup.snapshot(),
        maxBodyBytes: manifest.limits.maxBodyBytes,
        maxInferBodyBytes,
        ewmaServiceSeconds: batcher.ewmaServiceSeconds,
        busyRatio: busy.ratio(),
        processRssBytes: processRssBytes(),
        startedAt: startedAt.toISOString(),
        uptimeSeconds: (Date.now() - startedAt.getTime()) / 1000,
        requestsTotal: life.totals.requests,
        framesTotal: life.totals.frames,
        errorsTotal: life.totals.errors,
      };
    },

    async drain() {
      const state = life.current;
      if (state === 'ready' || state === 'loading' || state === 'warming') life.set('draining');
      await warming?.catch(() => undefined); // ends after its running step
      await life.idle();
      await batcher.drain();
    },

    async close() {
      closed = true;
      telemetry.stop();
      await warming?.catch(() => undefined); // never release the session under a warm-up run
      const s = session;
      session = null;
      if (life.current !== 'failed') life.set('draining');
      await s?.release();
    },
  };
  return engine;
}
