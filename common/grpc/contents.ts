import { GpumuxError } from '../errors.js';
import type { InferTensorContents } from './messages.js';

/**
 * Typed gRPC tensor contents (`InferTensorContents`) as the little-endian bytes the binary tensor extension
 * and `raw_input_contents` carry, so everything past the protocol edge sees one representation. Only the
 * datatypes gpumux serves; FP16 has no typed field in the protocol and must come raw.
 */
type Encoder = (contents: InferTensorContents, name: string) => Buffer;

const invalid = (message: string): GpumuxError => new GpumuxError('INVALID_TENSOR', message);

function integers(values: number[], name: string, min: number, max: number, what: string): void {
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < min || v > max)
      throw invalid(`input "${name}": contents[${i}] = ${v} is not a valid ${what}`);
  });
}

const ENCODERS: Record<string, Encoder> = {
  BOOL: (c) => Buffer.from(c.bool_contents.map((b) => (b ? 1 : 0))),
  UINT8: (c, name) => {
    integers(c.uint_contents, name, 0, 255, 'UINT8');
    return Buffer.from(c.uint_contents);
  },
  INT32: (c) => Buffer.from(new Int32Array(c.int_contents).buffer),
  INT64: (c, name) => {
    integers(c.int64_contents, name, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'INT64');
    return Buffer.from(BigInt64Array.from(c.int64_contents, (v) => BigInt(v)).buffer);
  },
  FP32: (c) => Buffer.from(new Float32Array(c.fp32_contents).buffer),
};

/** The bytes of one input's typed contents; INVALID_TENSOR for a datatype that cannot come typed. */
export function contentsToBytes(datatype: string, contents: InferTensorContents, name: string): Buffer {
  const encode = Object.hasOwn(ENCODERS, datatype) ? ENCODERS[datatype] : undefined;
  if (!encode) {
    const hint = datatype === 'FP16' ? ' (FP16 has no typed field: send it in raw_input_contents)' : '';
    throw invalid(`input "${name}": datatype "${datatype}" cannot be sent as typed contents${hint}`);
  }
  return encode(contents, name);
}
