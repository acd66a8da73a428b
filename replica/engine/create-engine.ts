import { createLogger } from '../../common/log.js';
import { configureSharp } from '../image/sharp-config.js';
import type { NvidiaSmi } from '../telemetry/nvidia-smi.js';
import { createBusyTracker } from './busy.js';
import { resolveEngineConfig, sessionThreadOf } from './engine-config.js';
import { engineMetadata, engineStats } from './engine-report.js';
import { startEngine, type SessionSlot, type StartParts } from './engine-start.js';
import { createFailureRules } from './failure-rules.js';
import { cudaOomFaultFrom } from './fault-injection.js';
import { createFramePipeline } from './frame-pipeline.js';
import { openModelSession, sessionOpening, sessionRequest, type SessionOpening } from './open-session.js';
import { safeHooks } from './safe-hooks.js';
import { createEngineState } from './state.js';
import { createEngineTelemetry } from './telemetry.js';
import type { CreateEngine, Engine, EngineOptions } from './types.js';
import { createWarmupProgress } from './warmup.js';

/**
 * The replica engine, composed: decode → pre-process → dynamic batcher → ONNX Runtime (in a worker thread)
 * → post-process. The parts live beside it: engine-config.ts (options and manifest, resolved), state.ts
 * (lifecycle, outstanding work), frame-pipeline.ts (batcher, detect, infer), failure-rules.ts (which errors
 * end the engine), open-session.ts (which thread runs the session), engine-start.ts (load, warm-up, ready),
 * engine-report.ts (stats, metadata), telemetry.ts (device and footprint), model-runner.ts (one batch).
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
   * How the session is opened and on which thread (open-session.ts): `{ thread: 'main', load }` runs an
   * injected loader's session on the main thread (a function cannot cross into a worker); `{ thread: 'worker',
   * open }` wraps the worker's opener (to reach the worker and end it). Default: the real loader, on the
   * thread `sessionThread` names.
   */
  session?: SessionOpening;
  smi?: NvidiaSmi;
  /** The environment the engine reads (GPUMUX_*, CUDA_VISIBLE_DEVICES, the test-only fault). */
  env?: NodeJS.ProcessEnv;
}

/** createEngine with injected dependencies (tests). */
export const engineFactory =
  (deps: EngineDeps): CreateEngine =>
  (options) =>
    buildEngine(options, deps);

function buildEngine(options: EngineOptions, deps: EngineDeps): Engine {
  return engineOf(assemble(options, deps));
}

/** The engine's parts, wired: each made once, in the order they depend on each other. */
function assemble(options: EngineOptions, deps: EngineDeps) {
  const { smi, env = process.env } = deps;
  const { replicaId, node, virtualGpu, gpuIndex, memoryBudgetBytes, warmupBudgetMs } = options;
  const config = resolveEngineConfig(options, env); // synchronous, so `engine.manifest` exists at once
  const opening = sessionOpening(sessionThreadOf(options, env), deps.session, options.sessionThread);
  const log = createLogger({ component: 'engine', model: config.manifest.name, replicaId });
  configureSharp();
  const warmup = createWarmupProgress({
    steps: config.warmupSteps,
    ...(warmupBudgetMs !== undefined ? { budgetMs: warmupBudgetMs } : {}),
  });
  const hooks = safeHooks(options.hooks ?? {}, log);
  const telemetry = createEngineTelemetry({
    device: config.device,
    ...(gpuIndex === undefined ? {} : { gpuIndex }),
    node,
    declaredBytes: config.declared.bytes,
    ...(virtualGpu ? { virtualGpu } : {}),
    ...(smi ? { smi } : {}),
    env,
  });
  const life = createEngineState({
    onFatal: (info) => {
      telemetry.stop();
      hooks.onFatal(info);
    },
  });
  const slot: SessionSlot = { session: null, runningOn: config.device, warming: null, closed: false };
  const runningOn = () => slot.runningOn;
  const rules = createFailureRules({ life, telemetry, memoryBudgetBytes, log, runningOn });
  const oomFault = cudaOomFaultFrom(env); // test-only (fault-injection.ts); null unless its variable is set
  const busy = createBusyTracker();
  const pipeline = createFramePipeline({ config, slot, rules, hooks, busy, oomFault });
  const request = sessionRequest(config, options);
  const openSession = () =>
    openModelSession(opening, request, { onWorkerExit: rules.onWorkerExit, logger: log });
  const { thread } = opening;
  const { runRows } = pipeline;
  const startParts: StartParts = {
    config,
    slot,
    life,
    telemetry,
    rules,
    log,
    thread,
    warmup,
    warmupBudgetMs,
    openSession,
    runRows,
  };
  const stats = { replicaId, config, life, telemetry, busy, warmup, startedAt: new Date() };
  return { ...pipeline, config, slot, life, telemetry, startParts, stats };
}

/** The `Engine` over its parts: lifecycle calls, the two ways in, and what it reports. */
function engineOf(parts: ReturnType<typeof assemble>): Engine {
  const { config, slot, life, telemetry, batcher, detect, infer, startParts, stats } = parts;
  return {
    manifest: config.manifest,
    get state() {
      return life.current;
    },
    start: () => startEngine(startParts),
    detect: (image, detectOptions = {}) => life.tracked(1, () => detect(image, detectOptions)),
    async infer(inputs, inferOptions = {}) {
      life.accepting();
      const work = infer.check(inputs, inferOptions.outputs);
      return life.tracked(work.batch, () => infer.run(work, inferOptions.signal));
    },
    metadata: () => engineMetadata(slot.session, config.specs),
    stats: () => engineStats({ ...stats, batcher }),
    async drain() {
      const state = life.current;
      if (state === 'ready' || state === 'loading' || state === 'warming') life.set('draining');
      await slot.warming?.catch(() => undefined); // ends after its running step
      await life.idle();
      await batcher.drain();
    },
    async close() {
      slot.closed = true;
      telemetry.stop();
      await slot.warming?.catch(() => undefined); // never release the session under a warm-up run
      const s = slot.session;
      slot.session = null;
      if (life.current !== 'failed') life.set('draining');
      await s?.release();
    },
  };
}
