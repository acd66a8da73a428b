import { GpumuxError } from '../../common/errors.js';
import type { Bucket } from '../../models/detr/letterbox.js';
import type { Manifest } from '../../models/manifest/schema.js';
import type { TensorData } from './tensors.js';
import type { RawTensor } from './types.js';

/** One model input as the manifest defines it: its datatype and its row shape for a bucket. */
export interface InputSpec {
  name: string;
  datatype: RawTensor['datatype'];
  /** Row shape (no batch dimension) for a bucket [height, width]. */
  rowShape(bucket: Bucket): number[];
  /** Bucket [height, width] a row shape stands for. */
  bucketOf(rowShape: readonly number[]): Bucket | null;
  zeros(bucket: Bucket): TensorData;
}

export function inputSpecsOf(manifest: Manifest): InputSpec[] {
  const { image, mask } = manifest.inputs;
  const alloc = (datatype: RawTensor['datatype'], n: number): TensorData =>
    datatype === 'FLOAT32' ? new Float32Array(n) : new Uint8Array(n);
  const specs: InputSpec[] = [
    image.layout === 'NHWC'
      ? {
          name: image.name,
          datatype: image.datatype,
          rowShape: ([h, w]) => [h, w, 3],
          bucketOf: (s) => (s.length === 3 && s[2] === 3 ? [s[0]!, s[1]!] : null),
          zeros: ([h, w]) => alloc(image.datatype, h * w * 3),
        }
      : {
          name: image.name,
          datatype: image.datatype,
          rowShape: ([h, w]) => [3, h, w],
          bucketOf: (s) => (s.length === 3 && s[0] === 3 ? [s[1]!, s[2]!] : null),
          zeros: ([h, w]) => alloc(image.datatype, h * w * 3),
        },
  ];
  if (mask) {
    specs.push({
      name: mask.name,
      datatype: mask.datatype,
      rowShape: ([h, w]) => [h, w],
      bucketOf: (s) => (s.length === 2 ? [s[0]!, s[1]!] : null),
      zeros: ([h, w]) => alloc(mask.datatype, h * w),
    });
  }
  return specs;
}

const invalid = (message: string) => new GpumuxError('INVALID_TENSOR', message);

/**
 * Checks v2 infer inputs against the model: every input present once with its datatype, a shape
 * [N, ...row] whose row is one of the manifest's buckets, 1 ≤ N ≤ maxBatch, and data of the right length.
 * Errors say what was expected.
 */
export function validateInferInputs(
  inputs: readonly RawTensor[],
  specs: readonly InputSpec[],
  buckets: readonly Bucket[],
  maxBatch: number,
): { batch: number; bucket: Bucket } {
  const names = specs.map((s) => s.name);
  const seen = new Set<string>();
  for (const t of inputs) {
    if (!names.includes(t.name))
      throw invalid(`unknown input "${t.name}"; the model takes ${names.map((n) => `"${n}"`).join(', ')}`);
    if (seen.has(t.name)) throw invalid(`input "${t.name}" given twice`);
    seen.add(t.name);
  }
  const missing = names.filter((n) => !seen.has(n));
  if (missing.length) throw invalid(`missing input(s) ${missing.map((n) => `"${n}"`).join(', ')}`);

  const allowed = buckets.map((b) => `[N,${specs[0]!.rowShape(b).join(',')}]`).join(' or ');
  let batch = -1;
  let bucket: Bucket | null = null;
  for (const spec of specs) {
    const t = inputs.find((x) => x.name === spec.name)!;
    if (t.datatype !== spec.datatype)
      throw invalid(`input "${t.name}" must be ${spec.datatype}, got ${t.datatype}`);
    const [n, ...row] = t.shape;
    const b = spec.bucketOf(row);
    const known = b && buckets.some((x) => x[0] === b[0] && x[1] === b[1]);
    if (n === undefined || !known) {
      throw invalid(
        `input "${t.name}" has shape [${t.shape.join(',')}]; expected ${spec === specs[0] ? allowed : `[N,${spec.rowShape(bucket ?? buckets[0]!).join(',')}]`}`,
      );
    }
    if (!(Number.isInteger(n) && n >= 1 && n <= maxBatch))
      throw invalid(`input "${t.name}": batch ${n} is outside 1..${maxBatch}`);
    if (batch >= 0 && (n !== batch || b[0] !== bucket![0] || b[1] !== bucket![1])) {
      throw invalid(
        `input "${t.name}" has shape [${t.shape.join(',')}], which does not match the other inputs`,
      );
    }
    batch = n;
    bucket = b;
    const expected = t.shape.reduce((a, d) => a * d, 1);
    if (t.data.length !== expected)
      throw invalid(
        `input "${t.name}" has ${t.data.length} elements; shape [${t.shape.join(',')}] needs ${expected}`,
      );
  }
  return { batch, bucket: bucket! };
}
