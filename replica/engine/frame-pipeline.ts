import { createPreprocessor } from '../image/preprocess.js';
import { createBatcher } from './batcher.js';
import type { createBusyTracker } from './busy.js';
import { createDetect } from './detect.js';
import type { EngineConfig } from './engine-config.js';
import type { SessionSlot } from './engine-start.js';
import type { FailureRules } from './failure-rules.js';
import type { CudaOomFault } from './fault-injection.js';
import { createInfer } from './infer.js';
import { createRowRunner, type OutputRows, type Rows } from './model-runner.js';
import type { EngineHooks } from './types.js';

/**
 * The way a frame travels once the engine has taken it: detect (one image: pre-process → batcher →
 * post-process) and infer (v2 rows → batcher → outputs joined) share one batcher, whose batches run through
 * the slot's session under the failure rules.
 */
export function createFramePipeline(parts: {
  config: EngineConfig;
  slot: SessionSlot;
  rules: FailureRules;
  hooks: Required<EngineHooks>;
  busy: ReturnType<typeof createBusyTracker>;
  /** The test-only injected CUDA OOM (fault-injection.ts), or null. */
  oomFault: CudaOomFault | null;
}) {
  const { config, slot, rules, hooks, busy, oomFault } = parts;
  const { manifest, specs, maxBatch, maxQueue } = config;
  const runRows = createRowRunner({ specs, busy });
  const batcher = createBatcher<Rows, OutputRows>({
    maxBatch,
    maxQueue,
    run: (key, items) =>
      rules.guardBatch(() => runRows(slot.session, config.buckets.get(key)!, items), oomFault),
    onQueueDepth: hooks.onQueueDepth,
    onBatch: (info) =>
      hooks.onBatch({ size: info.size, bucket: info.key, inferenceSeconds: info.runSeconds }),
  });
  const detect = createDetect({
    manifest,
    preprocess: createPreprocessor({ manifest }),
    batcher,
    onFrame: hooks.onFrame,
    onOutput: hooks.onOutput,
  });
  const infer = createInfer({
    specs,
    buckets: manifest.preprocess.buckets,
    batcher,
    maxBatch,
    maxQueue,
    outputNames: () => slot.session?.outputNames ?? [],
    onOutput: hooks.onOutput,
  });
  return { runRows, batcher, detect, infer };
}
