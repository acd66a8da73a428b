import { z } from 'zod';
import { GpumuxError } from '../../../common/errors.js';
import type { RawTensor } from '../../engine/types.js';
import { elementCount, flattenJson, fromBinary, fromJson, fromProtocolDatatype } from './tensors.js';

/**
 * Parses a v2 `POST .../infer` body: plain JSON, or the binary tensor extension — the first
 * `Inference-Header-Content-Length` bytes are the JSON header, the rest is the binary data of the inputs that
 * carry `parameters.binary_data_size`, in the order those inputs appear.
 */

const Parameters = z.record(z.string(), z.unknown());

const InferRequestHeader = z.object({
  id: z.string().optional(),
  parameters: Parameters.optional(),
  inputs: z
    .array(
      z.object({
        name: z.string().min(1),
        shape: z.array(z.number()),
        datatype: z.string(),
        parameters: Parameters.optional(),
        data: z.unknown().optional(),
      }),
    )
    .min(1),
  outputs: z.array(z.object({ name: z.string().min(1), parameters: Parameters.optional() })).optional(),
});

export interface RequestedOutput {
  name: string;
  binary: boolean;
}

export interface ParsedInferRequest {
  id: string | undefined;
  inputs: RawTensor[];
  /** The outputs asked for, in order; null = all of the model's outputs, each `binary` per `binaryDefault`. */
  outputs: RequestedOutput[] | null;
  /** Request-level `binary_data_output`. */
  binaryDefault: boolean;
}

function badParameter(message: string): GpumuxError {
  return new GpumuxError('INVALID_PARAMETER', message);
}

function optionalBoolean(
  params: Record<string, unknown> | undefined,
  key: string,
  where: string,
): boolean | undefined {
  const value = params?.[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw badParameter(`${where}: parameter "${key}" must be a boolean`);
  return value;
}

/** Parameters this server does not implement are refused rather than silently ignored. */
function refuseUnsupported(params: Record<string, unknown> | undefined, where: string): void {
  for (const key of [
    'shared_memory_region',
    'shared_memory_byte_size',
    'shared_memory_offset',
    'classification',
  ]) {
    if (params?.[key] !== undefined)
      throw badParameter(`${where}: parameter "${key}" is not supported by this server`);
  }
}

export function parseInferRequest(
  body: Uint8Array,
  headerLengthValue: string | undefined,
): ParsedInferRequest {
  const jsonEnd = jsonHeaderEnd(body, headerLengthValue);
  const header = parseHeader(body.subarray(0, jsonEnd));
  refuseUnsupported(header.parameters, 'request');
  const binaryDefault = optionalBoolean(header.parameters, 'binary_data_output', 'request') ?? false;
  const inputs = readInputs(header.inputs, body.subarray(jsonEnd));
  const outputs = requestedOutputs(header.outputs, binaryDefault);
  return { id: header.id, inputs, outputs, binaryDefault };
}

type InferRequestHeader = z.infer<typeof InferRequestHeader>;
type InputHeader = InferRequestHeader['inputs'][number];

/** Where the JSON header ends: `Inference-Header-Content-Length`, else the whole body. */
function jsonHeaderEnd(body: Uint8Array, headerLengthValue: string | undefined): number {
  let jsonEnd = body.byteLength;
  if (headerLengthValue !== undefined) {
    const n = Number(headerLengthValue);
    if (!/^\d+$/.test(headerLengthValue.trim()) || n > body.byteLength) {
      throw new GpumuxError(
        'BAD_REQUEST',
        `Inference-Header-Content-Length "${headerLengthValue}" is not a byte count within the ${body.byteLength}-byte body`,
      );
    }
    jsonEnd = n;
  }
  if (jsonEnd === 0) throw new GpumuxError('EMPTY_BODY', 'the inference request has no JSON header');
  return jsonEnd;
}

/** The JSON header: UTF-8, JSON, then the request's shape. */
function parseHeader(bytes: Uint8Array): InferRequestHeader {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new GpumuxError(
      'INVALID_JSON',
      `the inference request is not valid JSON: ${(err as Error).message}`,
    );
  }
  const parsed = InferRequestHeader.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new GpumuxError(
      'BAD_REQUEST',
      `invalid inference request at ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
  }
  return parsed.data;
}

/** Each input's tensor; binary inputs take their bytes from `binary` in order, and must use all of it. */
function readInputs(headers: InputHeader[], binary: Uint8Array): RawTensor[] {
  let offset = 0;
  const seen = new Set<string>();
  const inputs = headers.map((input) => {
    const where = `input "${input.name}"`;
    if (seen.has(input.name)) throw new GpumuxError('INVALID_TENSOR', `${where} is given twice`);
    seen.add(input.name);
    const { tensor, bytes } = readInput(input, where, binary, offset);
    offset += bytes;
    return tensor;
  });
  if (offset !== binary.byteLength) {
    throw new GpumuxError(
      'BAD_REQUEST',
      `${binary.byteLength - offset} bytes after the JSON header belong to no input (check binary_data_size and Inference-Header-Content-Length)`,
    );
  }
  return inputs;
}

/** One input, from its JSON `data` or from `binary` at `offset`; `bytes`: how much of `binary` it took. */
function readInput(
  input: InputHeader,
  where: string,
  binary: Uint8Array,
  offset: number,
): { tensor: RawTensor; bytes: number } {
  refuseUnsupported(input.parameters, where);
  const datatype = fromProtocolDatatype(input.datatype);
  if (!datatype) {
    throw new GpumuxError(
      'INVALID_TENSOR',
      `${where}: datatype "${input.datatype}" is not supported (UINT8, INT32, INT64, FP16, FP32, BOOL)`,
    );
  }
  const count = elementCount(input.name, input.shape);
  const size = input.parameters?.binary_data_size;
  if (size !== undefined) {
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw badParameter(`${where}: binary_data_size must be a non-negative integer`);
    }
    if (input.data !== undefined) {
      throw new GpumuxError('INVALID_TENSOR', `${where} has both "data" and binary_data_size`);
    }
    if (offset + size > binary.byteLength) {
      throw new GpumuxError(
        'INVALID_TENSOR',
        `${where}: binary_data_size ${size} runs past the end of the body (${binary.byteLength - offset} bytes left)`,
      );
    }
    const data = fromBinary(input.name, datatype, binary.subarray(offset, offset + size), count);
    return { tensor: { name: input.name, datatype, shape: input.shape, data }, bytes: size };
  }
  if (input.data === undefined)
    throw new GpumuxError('INVALID_TENSOR', `${where} has neither "data" nor binary_data_size`);
  const values = flattenJson(input.name, input.data, count);
  const data = fromJson(input.name, datatype, values);
  return { tensor: { name: input.name, datatype, shape: input.shape, data }, bytes: 0 };
}

/** The outputs asked for (null: all), each binary or JSON. */
function requestedOutputs(
  outputs: InferRequestHeader['outputs'],
  binaryDefault: boolean,
): RequestedOutput[] | null {
  const requested =
    outputs?.map((output): RequestedOutput => {
      refuseUnsupported(output.parameters, `output "${output.name}"`);
      return {
        name: output.name,
        binary: optionalBoolean(output.parameters, 'binary_data', `output "${output.name}"`) ?? binaryDefault,
      };
    }) ?? null;
  if (requested && new Set(requested.map((o) => o.name)).size !== requested.length) {
    throw new GpumuxError('INVALID_TENSOR', 'an output is requested twice');
  }
  return requested;
}
