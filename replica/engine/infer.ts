import { GpumuxError } from '../../common/errors.js';
import { bucketKey, type Bucket } from '../../models/detr/letterbox.js';
import type { Batcher } from './batcher.js';
import { validateInferInputs, type InputSpec } from './infer-validation.js';
import type { OutputRows, Rows } from './model-runner.js';
import { performance } from 'node:perf_hooks';
import { concatRows } from './tensors.js';
import type { EngineHooks, RawTensor } from './types.js';

/**
 * v2 infer: checks the tensors against the model (the one place these checks live: REST and gRPC both come
 * here), splits the batch into rows — each row joins the batcher as one frame — and joins the outputs back in
 * request order. `check` runs before any row is queued; `run` queues them.
 *
 * @example
 * const infer = createInfer({ specs, buckets, batcher, maxBatch: 8, maxQueue: 64, outputNames: () => ['boxes'] });
 * const work = infer.check(inputs, ['boxes']);  // throws INVALID_TENSOR / QUEUE_FULL
 * const outputs = await infer.run(work, signal);
 */
/** A checked v2 request, ready to queue. */
export interface InferWork {
  inputs: readonly RawTensor[];
  batch: number;
  bucket: Bucket;
  outputs: readonly string[];
}

export function createInfer(options: {
  specs: readonly InputSpec[];
  buckets: readonly Bucket[];
  batcher: Batcher<Rows, OutputRows>;
  maxBatch: number;
  maxQueue: number;
  /** The session's output names (known once it loaded). */
  outputNames: () => readonly string[];
  /** Time spent joining the rows' outputs into the request's tensors (Triton's compute_output). */
  onOutput?: EngineHooks['onOutput'];
}) {
  const { specs, buckets, batcher, maxBatch, maxQueue, outputNames, onOutput } = options;
  return {
    check(inputs: readonly RawTensor[], wanted: readonly string[] | undefined): InferWork {
      const { batch, bucket } = validateInferInputs(inputs, specs, buckets, maxBatch);
      const names = outputNames();
      const unknown = (wanted ?? []).filter((n) => !names.includes(n));
      if (unknown.length)
        throw new GpumuxError(
          'INVALID_TENSOR',
          `unknown output(s) ${unknown.join(', ')}; the model has ${names.join(', ')}`,
        );
      if (batcher.queueLength + batch > maxQueue) {
        throw new GpumuxError('QUEUE_FULL', `queue is full (${batcher.queueLength} frames waiting)`, {
          retryAfterSeconds:
            Math.max(batcher.ewmaServiceSeconds, 0.05) * (batcher.queueLength / maxBatch + 1),
        });
      }
      return { inputs, batch, bucket, outputs: wanted ?? names };
    },

    async run(work: InferWork, signal?: AbortSignal): Promise<RawTensor[]> {
      const { inputs, batch, bucket, outputs } = work;
      const byName = new Map(inputs.map((t) => [t.name, t]));
      const key = bucketKey(bucket);
      const rows = Array.from({ length: batch }, (_, i) => {
        const row: Rows = {};
        for (const spec of specs) {
          const data = byName.get(spec.name)!.data;
          const per = data.length / batch;
          row[spec.name] = data.subarray(i * per, (i + 1) * per);
        }
        return row;
      });
      const results = await Promise.all(rows.map((row) => batcher.submit(key, row, signal)));
      const t0 = performance.now();
      const tensors = outputs.map((name): RawTensor => {
        const first = results[0]!.result[name]!;
        return {
          name,
          datatype: first.datatype,
          shape: [batch, ...first.shape],
          data: concatRows(results.map((r) => r.result[name]!.data)),
        };
      });
      onOutput?.({ frames: batch, seconds: (performance.now() - t0) / 1000 });
      return tensors;
    },
  };
}
