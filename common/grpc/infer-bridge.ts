import { GpumuxError } from '../errors.js';
import { contentsToBytes } from './contents.js';
import type { InferParameters, ModelInferRequest, ModelInferResponse } from './messages.js';
import { HEADER_LENGTH } from '../http/v2-headers.js';

/**
 * ModelInfer as the v2 REST binary tensor extension: the request becomes a JSON header followed by each
 * input's bytes (raw_input_contents as they are, typed contents encoded), every output asked for in binary;
 * the answer's binary outputs become raw_output_contents. One translation for the replica (which hands it
 * to its own REST app in-process) and the gateway (which routes it to a replica like any REST request), so
 * both apply the REST path's validation, limits, errors and metrics.
 */

/** What the gateway proxies and the replica serves: names that are safe in a path. */
const NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** Parameters that describe the binary layout: ours to set, never the client's. */
const LAYOUT_PARAMETERS = new Set(['binary_data_size', 'binary_data', 'binary_data_output']);

/** `/v2/models/{m}[/versions/{v}]` + suffix; MODEL_NOT_FOUND / VERSION_NOT_FOUND for names no path can hold. */
export function modelPath(name: string, version: string, suffix = ''): string {
  if (!NAME.test(name)) throw new GpumuxError('MODEL_NOT_FOUND', `model "${name}" is not served here`);
  if (version === '') return `/v2/models/${name}${suffix}`;
  if (!NAME.test(version))
    throw new GpumuxError('VERSION_NOT_FOUND', `model "${name}" has no version "${version}"`);
  return `/v2/models/${name}/versions/${version}${suffix}`;
}

/** gRPC InferParameters as the JSON values the REST form carries, less the layout ones. */
function jsonParameters(params: InferParameters): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, p] of Object.entries(params)) {
    if (LAYOUT_PARAMETERS.has(key) || !p.parameter_choice) continue;
    out[key] = p[p.parameter_choice];
  }
  return out;
}

export interface RestInferRequest {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export function toRestInfer(request: ModelInferRequest): RestInferRequest {
  const raw = request.raw_input_contents;
  if (raw.length > 0 && raw.length !== request.inputs.length) {
    throw new GpumuxError(
      'INVALID_TENSOR',
      `raw_input_contents has ${raw.length} entries for ${request.inputs.length} inputs`,
    );
  }
  const tensors: Buffer[] = [];
  const inputs = request.inputs.map((input, i) => {
    let bytes: Buffer;
    if (raw.length > 0) {
      if (input.contents)
        throw new GpumuxError('INVALID_TENSOR', `input "${input.name}" has both contents and raw contents`);
      bytes = raw[i]!;
    } else {
      if (!input.contents) throw new GpumuxError('INVALID_TENSOR', `input "${input.name}" has no contents`);
      bytes = contentsToBytes(input.datatype, input.contents, input.name);
    }
    tensors.push(bytes);
    return {
      name: input.name,
      shape: input.shape,
      datatype: input.datatype,
      parameters: { ...jsonParameters(input.parameters), binary_data_size: bytes.byteLength },
    };
  });
  const outputs =
    request.outputs.length === 0
      ? undefined
      : request.outputs.map((o) => ({
          name: o.name,
          parameters: { ...jsonParameters(o.parameters), binary_data: true },
        }));
  const header = JSON.stringify({
    ...(request.id === '' ? {} : { id: request.id }),
    parameters: { ...jsonParameters(request.parameters), binary_data_output: true },
    inputs,
    ...(outputs ? { outputs } : {}),
  });
  const head = Buffer.from(header, 'utf8');
  return {
    path: modelPath(request.model_name, request.model_version, '/infer'),
    headers: {
      'content-type': 'application/octet-stream',
      [HEADER_LENGTH]: String(head.byteLength),
    },
    body: Buffer.concat([head, ...tensors]),
  };
}

interface RestOutput {
  name: string;
  datatype: string;
  shape: number[];
  parameters?: { binary_data_size?: number };
}

/** A 200 binary-extension answer as ModelInferResponse (outputs in raw_output_contents, as Triton answers). */
export function fromRestInfer(body: Buffer, headerLength: string | undefined): ModelInferResponse {
  const jsonEnd = headerLength === undefined ? body.byteLength : Number(headerLength);
  let json: { model_name: string; model_version: string; id?: string; outputs: RestOutput[] };
  try {
    json = JSON.parse(body.subarray(0, jsonEnd).toString('utf8')) as typeof json;
  } catch (err) {
    throw new GpumuxError('UPSTREAM_FAILED', 'the inference answer is not valid JSON', { cause: err });
  }
  const raw: Buffer[] = [];
  let offset = jsonEnd;
  const outputs = json.outputs.map((o) => {
    const size = o.parameters?.binary_data_size;
    if (typeof size !== 'number' || offset + size > body.byteLength)
      throw new GpumuxError('UPSTREAM_FAILED', `output "${o.name}" came without its binary data`);
    raw.push(body.subarray(offset, offset + size));
    offset += size;
    return { name: o.name, datatype: o.datatype, shape: o.shape };
  });
  return {
    model_name: json.model_name,
    model_version: json.model_version,
    id: json.id ?? '',
    outputs,
    raw_output_contents: raw,
  };
}
