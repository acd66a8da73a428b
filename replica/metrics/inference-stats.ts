import type { ModelStatistics, StatisticDuration } from '../../common/grpc/messages.js';
import type { EngineHooks } from '../engine/types.js';

/**
 * Triton's statistics extension for the one model version a replica serves, fed by the same engine hooks and
 * request observations as /metrics. Counts are frames (Triton counts each batch row as one inference):
 *
 * - `success` / `fail`: v2 infer and v1 detect requests by outcome, with their whole duration;
 * - `queue`: time frames waited for a batch — the integral of the queue depth over time, which is exactly the
 *   sum of every frame's wait;
 * - `compute_input`: image decode + pre-processing per frame (detect; v2 infer tensors come ready-made);
 * - `compute_infer`: the ONNX Runtime run, each frame charged its batch's run time, as Triton does;
 * - `compute_output`: output work after the run, per frame: DETR post-processing (detect), joining the rows'
 *   outputs into the request's tensors (v2 infer, engine hook `onOutput`) plus encoding the v2 response
 *   (JSON or binary tensors; `observeOutput`, from the REST route — gRPC answers through it too);
 * - `batch_stats`: per batch size, executions and their run time (`compute_input` / `compute_output` there
 *   stay zero: that work is per request, not per batch).
 */
export interface InferenceStats {
  hooks: Pick<EngineHooks, 'onBatch' | 'onQueueDepth' | 'onFrame' | 'onOutput'>;
  /** Output work outside the engine (encoding a v2 response), `frames` rows of it; passed around detached. */
  observeOutput: (info: { frames: number; seconds: number }) => void;
  /** One answered HTTP request (the request tracker's observation). */
  observeRequest(info: { endpoint: string; status: number; seconds: number }): void;
  snapshot(): ModelStatistics;
}

/** Endpoints that are inference requests (replica/http routes' `endpoint(...)` names). */
const INFERENCE_ENDPOINTS = new Set(['infer', 'detect']);

const zero = (): StatisticDuration => ({ count: 0, ns: 0 });
const ns = (seconds: number): number => Math.round(seconds * 1e9);

/** One closure: the hooks, observations and snapshot are short methods over the same counters. */
export function createInferenceStats({
  model,
  version,
  now = () => performance.now(),
  wallClock = () => Date.now(),
}: {
  model: string;
  version: string;
  /** Monotonic milliseconds (injectable for tests). */
  now?: () => number;
  wallClock?: () => number;
}): InferenceStats {
  const totals = {
    success: zero(),
    fail: zero(),
    queue: zero(),
    compute_input: zero(),
    compute_infer: zero(),
    compute_output: zero(),
  };
  const batches = new Map<number, { executions: number; ns: number }>();
  let inferences = 0;
  let executions = 0;
  let lastInference = 0;
  const queued = createQueueIntegral(now);

  /** Output work: the frames count once (their first piece of output work), the time every time. */
  const output = ({ frames, seconds }: { frames: number; seconds: number }, counted: boolean): void => {
    if (counted) totals.compute_output.count += frames;
    totals.compute_output.ns += ns(seconds);
  };

  return {
    hooks: {
      onQueueDepth: (next) => queued.setDepth(next),
      onFrame({ preprocessSeconds }) {
        totals.compute_input.count++;
        totals.compute_input.ns += ns(preprocessSeconds);
      },
      onOutput: (info) => output(info, true),
      onBatch({ size, inferenceSeconds }) {
        inferences += size;
        executions++;
        lastInference = wallClock();
        totals.compute_infer.count += size;
        totals.compute_infer.ns += size * ns(inferenceSeconds);
        totals.queue.count += size;
        const b = batches.get(size) ?? { executions: 0, ns: 0 };
        b.executions++;
        b.ns += ns(inferenceSeconds);
        batches.set(size, b);
      },
    },
    observeOutput: (info) => output(info, false),
    observeRequest({ endpoint, status, seconds }) {
      if (!INFERENCE_ENDPOINTS.has(endpoint)) return;
      const d = status >= 200 && status < 300 ? totals.success : totals.fail;
      d.count++;
      d.ns += ns(seconds);
    },
    snapshot() {
      const queuedMs = queued.frameMs();
      return {
        name: model,
        version,
        last_inference: lastInference,
        inference_count: inferences,
        execution_count: executions,
        inference_stats: {
          success: { ...totals.success },
          fail: { ...totals.fail },
          queue: { count: totals.queue.count, ns: Math.round(queuedMs * 1e6) },
          compute_input: { ...totals.compute_input },
          compute_infer: { ...totals.compute_infer },
          compute_output: { ...totals.compute_output },
        },
        batch_stats: batchStats(batches),
      };
    },
  };
}

/**
 * Frame-milliseconds spent queued: the queue depth integrated over time, which is exactly the sum of every
 * frame's wait.
 */
function createQueueIntegral(now: () => number) {
  let depth = 0;
  let depthSince = now();
  let queuedMs = 0;
  const integrate = (): void => {
    const t = now();
    queuedMs += depth * (t - depthSince);
    depthSince = t;
  };
  return {
    setDepth(next: number): void {
      integrate();
      depth = next;
    },
    /** Up to now. */
    frameMs(): number {
      integrate();
      return queuedMs;
    },
  };
}

/** Per batch size, smallest first; input and output work is per request, so zero here. */
function batchStats(
  batches: Map<number, { executions: number; ns: number }>,
): ModelStatistics['batch_stats'] {
  return [...batches]
    .sort(([a], [b]) => a - b)
    .map(([size, b]) => ({
      batch_size: size,
      compute_input: zero(),
      compute_infer: { count: b.executions, ns: b.ns },
      compute_output: zero(),
    }));
}
