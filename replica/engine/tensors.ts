import ort from 'onnxruntime-node';
import type { RawTensor } from './types.js';

/** Typed arrays the engine moves between v2 tensors, batch rows and ONNX Runtime. */
export type TensorData = RawTensor['data'];
export type Datatype = RawTensor['datatype'];

const TO_ORT: Record<Datatype, ort.Tensor.Type> = {
  UINT8: 'uint8',
  FLOAT32: 'float32',
  FLOAT16: 'float16',
  INT64: 'int64',
  INT32: 'int32',
  BOOL: 'bool',
};

export function toOrtType(datatype: Datatype): ort.Tensor.Type {
  return TO_ORT[datatype];
}

/** ONNX Runtime's type name → our datatype (null for types v2 infer does not carry). */
export function fromOrtType(type: string): Datatype | null {
  for (const [ours, theirs] of Object.entries(TO_ORT)) if (theirs === type) return ours as Datatype;
  return null;
}

/** Concatenates equal-typed rows into one batch array; a single row is used as is (no copy). */
export function concatRows(rows: readonly TensorData[]): TensorData {
  if (rows.length === 1) return rows[0]!;
  const first = rows[0]!;
  const Ctor = first.constructor as new (length: number) => TensorData;
  const out = new Ctor(rows.reduce((n, r) => n + r.length, 0));
  let offset = 0;
  for (const r of rows) {
    (out as Uint8Array).set(r as Uint8Array, offset);
    offset += r.length;
  }
  return out;
}

/** One output row of a batch run. */
export interface OutputRow {
  datatype: Datatype;
  /** Row shape, batch dimension removed. */
  shape: number[];
  data: TensorData;
}

/** Splits a batch output [N, ...] into N row views (no copies). */
export function splitRows(
  tensor: { type: string; dims: readonly number[]; data: unknown },
  batch: number,
): OutputRow[] {
  const datatype = fromOrtType(tensor.type);
  if (!datatype) throw new Error(`unsupported output type ${tensor.type}`);
  const dims = tensor.dims.map(Number);
  if (dims[0] !== batch) throw new Error(`output batch dimension is ${dims[0]}, expected ${batch}`);
  const data = tensor.data as TensorData;
  const per = data.length / batch;
  const shape = dims.slice(1);
  return Array.from({ length: batch }, (_, i) => ({
    datatype,
    shape,
    data: data.subarray(i * per, (i + 1) * per),
  }));
}
