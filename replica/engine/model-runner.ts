import { GpumuxError } from '../../common/errors.js';
import type { Bucket } from '../../models/detr/letterbox.js';
import type { DetrOutputs } from '../../models/detr/postprocess.js';
import type { Manifest } from '../../models/manifest/schema.js';
import type { createBusyTracker } from './busy.js';
import type { InputSpec } from './infer-validation.js';
import type { ModelSession, NamedTensor } from './model-session.js';
import { concatRows, splitRows, toOrtType, type OutputRow, type TensorData } from './tensors.js';

/** Input name → one row (no batch dimension). */
export type Rows = Record<string, TensorData>;
/** Output name → one row of the batch's output. */
export type OutputRows = Record<string, OutputRow>;

/**
 * Runs one batch of rows of one bucket through a session: concatenates rows per input, runs, splits every
 * output back into rows (views, no copies). The batch buffers go to the session (transferred to its worker),
 * so rows are never reused after a run. Session time counts toward the busy ratio.
 */
export function createRowRunner(options: {
  specs: readonly InputSpec[];
  busy: ReturnType<typeof createBusyTracker>;
}) {
  const { specs, busy } = options;
  return async function runRows(
    session: ModelSession | null,
    bucket: Bucket,
    rows: Rows[],
  ): Promise<OutputRows[]> {
    if (!session) throw new GpumuxError('NOT_READY', 'model is not loaded');
    const feeds: NamedTensor[] = specs.map((spec) => ({
      name: spec.name,
      type: toOrtType(spec.datatype),
      dims: [rows.length, ...spec.rowShape(bucket)],
      data: concatRows(rows.map((r) => r[spec.name]!)),
    }));
    busy.start();
    let results: NamedTensor[];
    try {
      results = await session.run(feeds);
    } catch (err) {
      throw new GpumuxError('INFERENCE_FAILED', `inference failed: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      busy.stop();
    }
    const perRow: OutputRows[] = rows.map(() => ({}));
    for (const output of results) {
      splitRows(output, rows.length).forEach((row, i) => (perRow[i]![output.name] = row));
    }
    return perRow;
  };
}

/** Fails with both sides listed when the ONNX file's inputs/outputs are not the manifest's. */
export function checkSessionNames(
  session: Pick<ModelSession, 'inputNames' | 'outputNames'>,
  manifest: Manifest,
  specs: readonly InputSpec[],
  onnxPath: string,
): void {
  const wantIn = specs.map((x) => x.name);
  const o = manifest.outputs;
  const wantOut = o.kind === 'boxes' ? [o.boxes, o.scores, o.labels] : [o.logits, o.boxes];
  const missingIn = wantIn.filter((n) => !session.inputNames.includes(n));
  const extraIn = session.inputNames.filter((n) => !wantIn.includes(n));
  const missingOut = wantOut.filter((n) => !session.outputNames.includes(n));
  if (missingIn.length || extraIn.length || missingOut.length) {
    throw new Error(
      `ONNX model ${onnxPath} does not match manifest ${manifest.name}: ` +
        `model inputs [${session.inputNames.join(', ')}], outputs [${session.outputNames.join(', ')}]; ` +
        `manifest expects inputs [${wantIn.join(', ')}] and outputs [${wantOut.join(', ')}]`,
    );
  }
}

/** One frame's output rows as the post-processor's input, per the manifest's output contract. */
export function toDetrOutputs(outputs: Manifest['outputs'], out: OutputRows): DetrOutputs {
  if (outputs.kind === 'boxes') {
    return {
      kind: 'boxes',
      boxes: out[outputs.boxes]!.data as Float32Array,
      scores: out[outputs.scores]!.data as Float32Array,
      labels: out[outputs.labels]!.data as BigInt64Array,
    };
  }
  const logits = out[outputs.logits]!;
  const [numQueries, numClasses] = logits.shape as [number, number];
  return {
    kind: 'logits',
    logits: logits.data as Float32Array,
    boxes: out[outputs.boxes]!.data as Float32Array,
    numQueries,
    numClasses,
    activation: outputs.activation,
  };
}
