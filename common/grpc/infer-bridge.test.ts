import { describe, expect, it } from 'vitest';
import { GRPC_STATUS, GpumuxError } from '../errors.js';
import { fromRestInfer, modelPath, toRestInfer } from './infer-bridge.js';
import type { InferTensorContents, ModelInferRequest } from './messages.js';
import { fromRestError, toServiceError } from './status.js';

const empty: InferTensorContents = {
  bool_contents: [],
  int_contents: [],
  int64_contents: [],
  uint_contents: [],
  uint64_contents: [],
  fp32_contents: [],
  fp64_contents: [],
  bytes_contents: [],
};
const request = (over: Partial<ModelInferRequest>): ModelInferRequest => ({
  model_name: 'm',
  model_version: '',
  id: '',
  parameters: {},
  inputs: [],
  outputs: [],
  raw_input_contents: [],
  ...over,
});
const input = (
  name: string,
  datatype: string,
  shape: number[],
  contents: InferTensorContents | null = null,
) => ({
  name,
  datatype,
  shape,
  parameters: {},
  contents,
});

/** The JSON header and the bytes after it. */
function split(rest: { headers: Record<string, string>; body: Buffer }) {
  const n = Number(rest.headers['inference-header-content-length']);
  return {
    header: JSON.parse(rest.body.subarray(0, n).toString()) as Record<string, unknown>,
    bytes: rest.body.subarray(n),
  };
}

describe('ModelInfer ↔ v2 REST binary extension', () => {
  it('puts raw contents after the JSON header, in input order, every output in binary', () => {
    const rest = toRestInfer(
      request({
        model_version: '2',
        id: 'x',
        parameters: { priority: { int64_param: 3, parameter_choice: 'int64_param' } },
        inputs: [input('a', 'UINT8', [2]), input('b', 'FP16', [1])],
        outputs: [
          { name: 'o', parameters: { binary_data: { bool_param: false, parameter_choice: 'bool_param' } } },
        ],
        raw_input_contents: [Buffer.from([1, 2]), Buffer.from([3, 4])],
      }),
    );
    expect(rest.path).toBe('/v2/models/m/versions/2/infer');
    const { header, bytes } = split(rest);
    expect(header).toEqual({
      id: 'x',
      parameters: { priority: 3, binary_data_output: true },
      inputs: [
        { name: 'a', shape: [2], datatype: 'UINT8', parameters: { binary_data_size: 2 } },
        { name: 'b', shape: [1], datatype: 'FP16', parameters: { binary_data_size: 2 } },
      ],
      outputs: [{ name: 'o', parameters: { binary_data: true } }],
    });
    expect([...bytes]).toEqual([1, 2, 3, 4]);
  });

  it('encodes typed contents little-endian, and refuses what cannot come typed', () => {
    const rest = toRestInfer(
      request({
        inputs: [
          input('f', 'FP32', [2], { ...empty, fp32_contents: [1.5, -2] }),
          input('i', 'INT64', [1], { ...empty, int64_contents: [-3] }),
          input('b', 'BOOL', [2], { ...empty, bool_contents: [true, false] }),
        ],
      }),
    );
    const { bytes } = split(rest);
    expect(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 8))).toEqual(
      new Float32Array([1.5, -2]),
    );
    expect(bytes.readBigInt64LE(8)).toBe(-3n);
    expect([...bytes.subarray(16)]).toEqual([1, 0]);
    const bad = (r: Partial<ModelInferRequest>) => () => toRestInfer(request(r));
    expect(bad({ inputs: [input('h', 'FP16', [1], empty)] })).toThrow(/raw_input_contents/);
    expect(bad({ inputs: [input('u', 'UINT8', [1], { ...empty, uint_contents: [256] })] })).toThrow(
      /not a valid UINT8/,
    );
    expect(bad({ inputs: [input('a', 'UINT8', [1])] })).toThrow(/no contents/);
    expect(
      bad({
        inputs: [input('a', 'UINT8', [1]), input('b', 'UINT8', [1])],
        raw_input_contents: [Buffer.alloc(1)],
      }),
    ).toThrow(/2 inputs/);
    expect(() => modelPath('../x', '')).toThrow(GpumuxError);
  });

  it('turns the binary answer into raw_output_contents', () => {
    const head = Buffer.from(
      JSON.stringify({
        model_name: 'm',
        model_version: '1',
        outputs: [
          { name: 'a', datatype: 'UINT8', shape: [2], parameters: { binary_data_size: 2 } },
          { name: 'b', datatype: 'UINT8', shape: [1], parameters: { binary_data_size: 1 } },
        ],
      }),
    );
    const res = fromRestInfer(Buffer.concat([head, Buffer.from([7, 8, 9])]), String(head.byteLength));
    expect(res.outputs.map((o) => o.name)).toEqual(['a', 'b']);
    expect(res.raw_output_contents.map((b) => [...b])).toEqual([[7, 8], [9]]);
    expect(() => fromRestInfer(head, String(head.byteLength))).toThrow(/binary data/);
  });

  it('maps errors both ways through the one table', () => {
    const e = fromRestError(429, Buffer.from(JSON.stringify({ error: 'busy', code: 'QUEUE_FULL' })), '2');
    expect(e).toMatchObject({ code: 'QUEUE_FULL', message: 'busy', retryAfterSeconds: 2 });
    const se = toServiceError(e);
    expect(se.code).toBe(8);
    expect(se.metadata?.get('retry-after')).toEqual(['2']);
    expect(fromRestError(502, Buffer.from('<html>'), undefined).code).toBe('UPSTREAM_FAILED');
    expect(GRPC_STATUS.INVALID_TENSOR).toBe(3);
    expect(GRPC_STATUS.MODEL_NOT_FOUND).toBe(5);
    expect(GRPC_STATUS.DEADLINE_EXCEEDED).toBe(4);
    expect(GRPC_STATUS.DRAINING).toBe(14);
  });
});
