import { describe, expect, it } from 'vitest';
import {
  elementCount,
  flattenJson,
  fromProtocolDatatype,
  floatToHalf,
  fromBinary,
  fromJson,
  halfToFloat,
  toBinary,
  toJson,
  toProtocolDatatype,
} from './tensors.js';

describe('v2 tensor conversions', () => {
  it('flattens nested and flat data row-major and counts elements', () => {
    expect(
      flattenJson(
        'x',
        [
          [1, 2],
          [3, 4],
        ],
        4,
      ),
    ).toEqual([1, 2, 3, 4]);
    expect(flattenJson('x', [1, 2, 3, 4], 4)).toEqual([1, 2, 3, 4]);
    expect(() => flattenJson('x', [1, 2, 3], 4)).toThrow(/3 elements/);
    expect(() =>
      flattenJson(
        'x',
        [
          [1, 2],
          [3, 4, 5],
        ],
        4,
      ),
    ).toThrow(/more than 4/);
    expect(() => flattenJson('x', 'abc', 3)).toThrow(/must be an array/);
  });

  it('rejects bad shapes', () => {
    expect(elementCount('x', [2, 3, 4])).toBe(24);
    expect(() => elementCount('x', [2, -1])).toThrow(/bad dimension/);
    expect(() => elementCount('x', [1.5])).toThrow(/bad dimension/);
    expect(() => elementCount('x', [65536, 65536, 3])).toThrow(/too large/);
  });

  it('checks JSON values against the datatype', () => {
    expect(Array.from(fromJson('x', 'UINT8', [0, 255]) as Uint8Array)).toEqual([0, 255]);
    expect(() => fromJson('x', 'UINT8', [256])).toThrow(/data\[0\]/);
    const invalid = (message: string): unknown =>
      expect.objectContaining({ code: 'INVALID_TENSOR', message });
    expect(() => fromJson('x', 'INT32', [1.5])).toThrow(
      invalid('input "x": data[0] = 1.5 is not a valid INT32'),
    );
    expect(Array.from(fromJson('x', 'INT64', [-3, 2 ** 40]) as BigInt64Array)).toEqual([-3n, 2n ** 40n]);
    expect(Array.from(fromJson('x', 'BOOL', [true, false, 1, 0]) as Uint8Array)).toEqual([1, 0, 1, 0]);
    expect(() => fromJson('x', 'BOOL', ['yes'])).toThrow(
      invalid('input "x": data[0] = "yes" is not a valid BOOL'),
    );
    expect(() => fromJson('x', 'FLOAT32', ['1'])).toThrow(
      invalid('input "x": data[0] = "1" is not a valid FLOAT32'),
    );
  });

  it('reads little-endian binary data of the exact size, whatever its alignment', () => {
    const floats = new Float32Array([1.5, -2, 3.25]);
    const bytes = new Uint8Array(13);
    bytes.set(new Uint8Array(floats.buffer), 1); // odd offset: must still work
    expect(Array.from(fromBinary('x', 'FLOAT32', bytes.subarray(1), 3) as Float32Array)).toEqual([
      1.5, -2, 3.25,
    ]);
    expect(() => fromBinary('x', 'FLOAT32', bytes.subarray(1, 9), 3)).toThrow(/need 12/);
    expect(() => fromBinary('x', 'BOOL', new Uint8Array([0, 2]), 2)).toThrow(/0 or 1/);
  });

  it('round-trips FP16 exactly for representable values and rounds the rest', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8])
      expect(halfToFloat(floatToHalf(v))).toBe(v);
    expect(halfToFloat(floatToHalf(1e6))).toBe(Infinity);
    expect(halfToFloat(floatToHalf(0.1))).toBeCloseTo(0.1, 3);
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
  });

  it('writes outputs as JSON values and as byte views', () => {
    expect(toJson({ name: 'l', datatype: 'INT64', shape: [2], data: new BigInt64Array([1n, 2n]) })).toEqual([
      1, 2,
    ]);
    expect(toJson({ name: 'b', datatype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) })).toEqual([
      true,
      false,
    ]);
    const data = new Float32Array([1, 2]);
    expect(toBinary({ name: 'f', datatype: 'FLOAT32', shape: [2], data }).byteLength).toBe(8);
  });
});

describe('protocol datatype names', () => {
  it('maps FP32/FP16 to the engine names, accepts the ONNX spelling and refuses the rest', () => {
    expect(fromProtocolDatatype('FP32')).toBe('FLOAT32');
    expect(fromProtocolDatatype('FP16')).toBe('FLOAT16');
    expect(fromProtocolDatatype('FLOAT32')).toBe('FLOAT32');
    expect(fromProtocolDatatype('BYTES')).toBeUndefined();
    expect(fromProtocolDatatype('toString')).toBeUndefined();
    expect(toProtocolDatatype('FLOAT32')).toBe('FP32');
    expect(toProtocolDatatype('INT64')).toBe('INT64');
  });
});
