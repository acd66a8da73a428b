import { GpumuxError } from '../../../common/errors.js';
import type { RawTensor } from '../../engine/types.js';

/**
 * Tensor data conversions for the Open Inference Protocol: JSON `data` (flat row-major, or nested arrays)
 * and the binary tensor extension (little-endian, row-major, no padding; BOOL one byte per element).
 */

export type Datatype = RawTensor['datatype'];
export const BYTES_PER_ELEMENT: Record<Datatype, number> = {
  UINT8: 1,
  BOOL: 1,
  FLOAT16: 2,
  FLOAT32: 4,
  INT32: 4,
  INT64: 8,
};

/**
 * The protocol names tensor types FP32/FP16 where the engine (and ONNX) say FLOAT32/FLOAT16. Requests may use
 * either (the ONNX spelling is accepted as an alias); responses always use the protocol's.
 */
const FROM_PROTOCOL: Record<string, Datatype> = {
  UINT8: 'UINT8',
  INT32: 'INT32',
  INT64: 'INT64',
  BOOL: 'BOOL',
  FP32: 'FLOAT32',
  FP16: 'FLOAT16',
  FLOAT32: 'FLOAT32',
  FLOAT16: 'FLOAT16',
};

/** A request's datatype as the engine's, or undefined when this server does not support it. */
export function fromProtocolDatatype(value: string): Datatype | undefined {
  return Object.hasOwn(FROM_PROTOCOL, value) ? FROM_PROTOCOL[value] : undefined;
}

/** The protocol's name for an engine/ONNX datatype (`FLOAT32` → `FP32`, `DOUBLE`/`FLOAT64` → `FP64`). */
export function toProtocolDatatype(value: string): string {
  const names: Record<string, string> = {
    FLOAT32: 'FP32',
    FLOAT16: 'FP16',
    FLOAT64: 'FP64',
    DOUBLE: 'FP64',
    FLOAT: 'FP32',
  };
  return names[value] ?? value;
}

const invalid = (message: string): GpumuxError => new GpumuxError('INVALID_TENSOR', message);

/** Elements in a tensor of this shape; rejects negative, fractional and absurd sizes. */
export function elementCount(name: string, shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0)
      throw invalid(`input "${name}": shape [${shape.join(',')}] has a bad dimension`);
    count *= dim;
    if (count > 2 ** 31) throw invalid(`input "${name}": shape [${shape.join(',')}] is too large`);
  }
  return count;
}

/** Wraps little-endian bytes as the datatype's typed array (copied, so alignment and lifetime are ours). */
export function fromBinary(
  name: string,
  datatype: Datatype,
  bytes: Uint8Array,
  count: number,
): RawTensor['data'] {
  const expected = count * BYTES_PER_ELEMENT[datatype];
  if (bytes.byteLength !== expected) {
    throw invalid(
      `input "${name}": binary_data_size is ${bytes.byteLength} bytes but shape and ${datatype} need ${expected}`,
    );
  }
  const copy = new Uint8Array(bytes); // aligned copy: typed-array views need offsets that are multiples of their size
  const buf = copy.buffer;
  switch (datatype) {
    case 'UINT8':
      return copy;
    case 'BOOL':
      for (const b of copy) if (b > 1) throw invalid(`input "${name}": BOOL bytes must be 0 or 1`);
      return copy;
    case 'FLOAT16':
      return new Uint16Array(buf);
    case 'FLOAT32':
      return new Float32Array(buf);
    case 'INT32':
      return new Int32Array(buf);
    case 'INT64':
      return new BigInt64Array(buf);
  }
}

/** Flattens JSON `data` (flat or nested arrays, row-major) without recursion; stops once it has too many. */
export function flattenJson(name: string, data: unknown, count: number): unknown[] {
  if (!Array.isArray(data)) throw invalid(`input "${name}": "data" must be an array`);
  const out: unknown[] = [];
  const stack: { items: unknown[]; index: number }[] = [{ items: data, index: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.index >= top.items.length) {
      stack.pop();
      continue;
    }
    const item = top.items[top.index++];
    if (Array.isArray(item)) {
      if (stack.length > 64) throw invalid(`input "${name}": "data" is nested too deeply`);
      stack.push({ items: item, index: 0 });
    } else {
      out.push(item);
      if (out.length > count) break;
    }
  }
  if (out.length !== count) {
    throw invalid(
      `input "${name}": "data" has ${out.length > count ? 'more than ' + count : out.length} elements, shape needs ${count}`,
    );
  }
  return out;
}

/**
 * A JSON value for an error message, bounded: an object or array is named, not printed (a value nested
 * thousands deep would overflow the stack in JSON.stringify and turn a 400 into a 500).
 */
function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** JSON values to the datatype's typed array, checking each value's kind and range. */
export function fromJson(name: string, datatype: Datatype, values: unknown[]): RawTensor['data'] {
  const bad = (i: number): GpumuxError =>
    invalid(`input "${name}": data[${i}] = ${describeValue(values[i])} is not a valid ${datatype}`);
  const ints = (
    min: number,
    max: number,
    Out: Uint8ArrayConstructor | Int32ArrayConstructor,
  ): Uint8Array | Int32Array => {
    const out = new Out(values.length);
    values.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(i);
      out[i] = v;
    });
    return out;
  };
  switch (datatype) {
    case 'UINT8':
      return ints(0, 255, Uint8Array);
    case 'INT32':
      return ints(-(2 ** 31), 2 ** 31 - 1, Int32Array);
    case 'BOOL': {
      const out = new Uint8Array(values.length);
      values.forEach((v, i) => {
        if (v === true || v === 1) out[i] = 1;
        else if (v !== false && v !== 0) throw bad(i);
      });
      return out;
    }
    case 'INT64': {
      const out = new BigInt64Array(values.length);
      values.forEach((v, i) => {
        if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw bad(i);
        out[i] = BigInt(v);
      });
      return out;
    }
    case 'FLOAT32': {
      const out = new Float32Array(values.length);
      values.forEach((v, i) => {
        if (typeof v !== 'number') throw bad(i);
        out[i] = v;
      });
      return out;
    }
    case 'FLOAT16': {
      const out = new Uint16Array(values.length);
      values.forEach((v, i) => {
        if (typeof v !== 'number') throw bad(i);
        out[i] = floatToHalf(v);
      });
      return out;
    }
  }
}

/** A tensor's data as JSON values (INT64 as numbers, BOOL as booleans, FLOAT16 decoded). */
export function toJson(tensor: RawTensor): (number | boolean)[] {
  const { datatype, data } = tensor;
  if (datatype === 'BOOL') return Array.from(data as Uint8Array, (v) => v !== 0);
  if (datatype === 'FLOAT16') return Array.from(data as Uint16Array, halfToFloat);
  if (data instanceof BigInt64Array) return Array.from(data, (v) => Number(v));
  return Array.from(data as Float32Array | Int32Array | Uint8Array);
}

/** A tensor's data as little-endian bytes (a view, not a copy). */
export function toBinary(tensor: RawTensor): Uint8Array {
  const { data } = tensor;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary32 → binary16 bits, rounding to nearest even (overflow → ±Inf). */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // too small: ±0
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++; // may carry into the exponent: still correct
  e = half >> 10;
  return sign | (e >= 0x1f ? 0x7c00 : half);
}

/** binary16 bits → number. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
