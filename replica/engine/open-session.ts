import ort from 'onnxruntime-node';
import type { Logger } from '../../common/log.js';
import { loadSession } from './load-session.js';
import { inThreadSession, type ModelSession } from './model-session.js';
import type { EngineConfig } from './engine-config.js';
import type { EngineOptions, SessionThread } from './types.js';
import { openWorkerSession } from './worker-session-client.js';
import type { WorkerLoadOptions } from './worker-session-protocol.js';

/**
 * How the engine opens its session: which thread runs it, and with what. The real loader in a worker thread
 * unless told otherwise; tests replace the loader (`main`: a function cannot cross into a worker, so an
 * injected loader's session runs on the main thread) or wrap the worker's opener (to reach the worker).
 */
export type SessionOpening =
  { thread: 'main'; load: typeof loadSession } | { thread: 'worker'; open: typeof openWorkerSession };

/**
 * The opening for `thread` (the engine's `sessionThread`), or the injected one. An injected opening names its
 * thread itself; one that contradicts an explicit `sessionThread` option is a mistake, not a choice to make
 * silently.
 */
export function sessionOpening(
  thread: SessionThread,
  injected: SessionOpening | undefined,
  explicitThread: SessionThread | undefined,
): SessionOpening {
  if (!injected)
    return thread === 'main' ? { thread, load: loadSession } : { thread, open: openWorkerSession };
  if (explicitThread !== undefined && explicitThread !== injected.thread)
    throw new Error(
      `sessionThread "${explicitThread}" contradicts the injected session opening (thread "${injected.thread}")`,
    );
  return injected;
}

/** Opens the session as `opening` says; `onWorkerExit` is told when a worker thread dies while it is open. */
export async function openModelSession(
  opening: SessionOpening,
  request: WorkerLoadOptions,
  hooks: { onWorkerExit: (error: Error) => void; logger: Logger },
): Promise<ModelSession> {
  if (opening.thread === 'main')
    return inThreadSession(await opening.load({ ...request, logger: hooks.logger }), ort.Tensor);
  return opening.open(request, { onExit: hooks.onWorkerExit, logger: hooks.logger });
}

/** What the session is opened with: the model file, the device asked for and the options that shape it. */
export function sessionRequest(config: EngineConfig, options: EngineOptions): WorkerLoadOptions {
  const { threads, memoryBudgetBytes } = options;
  return {
    onnxPath: config.onnxPath,
    device: config.device,
    allowCpuFallback: options.allowCpuFallback ?? false,
    graphOptimization: config.manifest.onnx.graphOptimization,
    disabledOptimizers: config.manifest.onnx.disabledOptimizers,
    ...(threads ? { threads } : {}),
    ...(memoryBudgetBytes !== undefined ? { memoryBudget: { bytes: memoryBudgetBytes } } : {}),
  };
}
