import { performance } from 'node:perf_hooks';
import type { Bucket } from '../../models/detr/letterbox.js';
import type { Logger } from '../../common/log.js';
import { formatDevice, type DeviceRequest } from './device-request.js';
import type { EngineConfig } from './engine-config.js';
import type { FailureRules } from './failure-rules.js';
import type { ModelSession } from './model-session.js';
import { checkSessionNames, type Rows } from './model-runner.js';
import type { EngineLifecycle } from './state.js';
import type { EngineTelemetry } from './telemetry.js';
import type { SessionThread } from './types.js';
import { warmUp, type WarmupProgress } from './warmup.js';

/**
 * The engine's session and what start, drain and close share about it. While the warm-up runs, a drain and
 * close() wait for its running step (`warming`), so the session is never released under a run and the warm-up
 * gets to log where it stopped; `closed` tells a load still under way that nothing else will release it.
 */
export interface SessionSlot {
  session: ModelSession | null;
  /** What runs the model: the device asked for, or the CPU after a permitted fall-back. */
  runningOn: DeviceRequest;
  warming: Promise<boolean> | null;
  closed: boolean;
}

export interface StartParts {
  config: EngineConfig;
  slot: SessionSlot;
  life: EngineLifecycle;
  telemetry: EngineTelemetry;
  rules: FailureRules;
  log: Logger;
  thread: SessionThread;
  warmup: WarmupProgress;
  warmupBudgetMs: number | undefined;
  openSession: () => Promise<ModelSession>;
  runRows: (session: ModelSession | null, bucket: Bucket, rows: Rows[]) => Promise<unknown>;
}

/**
 * `engine.start()`: telemetry baseline → session → its names against the manifest → `warming` → footprint →
 * `ready`. A drain during load or warm-up ends it there (never ready; close() releases the session); a failure
 * turns the engine `failed`, releases the session and rejects.
 */
export async function startEngine(parts: StartParts): Promise<void> {
  const { life, log, slot } = parts;
  if (life.current !== 'loading') throw new Error(`engine already started (state ${life.current})`);
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  try {
    const loaded = await loadChecked(parts);
    if (!loaded) return;
    if (life.current !== 'loading') {
      log.info('engine start ended by a drain during load', { ms: ms() });
      return; // never ready; close() releases the session
    }
    if (!(await warm(parts))) {
      log.info('engine start ended by a drain during warm-up', { ms: ms() });
      return; // never ready; close() releases the session
    }
    await turnReady(parts, loaded, ms);
  } catch (err) {
    life.set('failed');
    log.error('engine failed to start', { err });
    parts.rules.failOnOutOfMemory(err); // an OOM while loading or warming up is the GPU's headroom, not a broken model
    const opened = slot.session;
    slot.session = null;
    await opened?.release().catch(() => undefined);
    throw err;
  }
}

/** The session, in the slot and checked against the manifest; null when close() ran while it loaded. */
async function loadChecked(parts: StartParts): Promise<ModelSession | null> {
  const { config, slot, telemetry, log } = parts;
  try {
    await telemetry.current().beforeLoad();
  } catch (err) {
    log.warn('nvidia-smi unavailable before load; footprint falls back to the declared value', { err });
  }
  const loaded = await parts.openSession();
  if (slot.closed) {
    // close() ran while the model loaded: nothing will release this session but us
    await loaded.release().catch(() => undefined);
    return null;
  }
  slot.session = loaded; // released by startEngine if anything after this fails
  slot.runningOn = loaded.device;
  // the device actually used is the CPU: report it as such, never as the GPU asked for
  if (loaded.fellBack) telemetry.fellBackToCpu();
  checkSessionNames(loaded, config.manifest, config.specs, config.onnxPath);
  return loaded;
}

/** Runs the warm-up steps; false when a drain (SIGTERM) ended it after the running step. */
function warm(parts: StartParts): Promise<boolean> {
  const { config, slot, life, warmupBudgetMs } = parts;
  life.set('warming');
  slot.warming = warmUp({
    run: (bucket, rows) => parts.runRows(slot.session, bucket, rows),
    steps: config.warmupSteps,
    specs: config.specs,
    progress: parts.warmup,
    log: parts.log,
    ...(warmupBudgetMs !== undefined ? { budgetMs: warmupBudgetMs } : {}),
    stopped: () => life.current !== 'warming',
  });
  return slot.warming;
}

/** The footprint after warm-up, the 2 s refresh, then `ready` unless a drain came first. */
async function turnReady(parts: StartParts, loaded: ModelSession, ms: () => number): Promise<void> {
  const { config, life, telemetry, log } = parts;
  try {
    await telemetry.current().afterWarmup();
  } catch (err) {
    log.warn('could not measure the footprint after warm-up; reporting the declared value', { err });
  }
  telemetry.startRefreshing();
  if (life.current === 'warming') life.set('ready'); // a drain during warm-up wins
  log.info('engine ready', {
    device: formatDevice(loaded.device),
    sessionThread: parts.thread,
    footprint: telemetry.current().footprint(),
    declared: { bytes: config.declared.bytes, maxBatch: config.maxBatch, source: config.declared.source },
    ms: ms(),
  });
}
