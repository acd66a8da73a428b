import type { RawTensor } from '../../engine/types.js';
import { HEADER_LENGTH } from '../../../common/http/v2-headers.js';
import type { RequestedOutput } from './infer-request.js';
import { toBinary, toJson, toProtocolDatatype } from './tensors.js';

export interface EncodedResponse {
  body: Uint8Array | string;
  headers: Record<string, string>;
}

/**
 * Builds the v2 infer response: outputs asked for as binary carry `parameters.binary_data_size` and their
 * bytes follow the JSON header in the same order; `Inference-Header-Content-Length` tells where the JSON ends.
 * With no binary output it is plain JSON.
 */
export function encodeInferResponse({
  modelName,
  modelVersion,
  id,
  tensors,
  requested,
}: {
  modelName: string;
  modelVersion: string;
  id: string | undefined;
  tensors: RawTensor[];
  /** One entry per tensor, same order. */
  requested: RequestedOutput[];
}): EncodedResponse {
  const binaries: Uint8Array[] = [];
  const outputs = tensors.map((tensor, i) => {
    const base = { name: tensor.name, datatype: toProtocolDatatype(tensor.datatype), shape: tensor.shape };
    if (requested[i]?.binary) {
      const bytes = toBinary(tensor);
      binaries.push(bytes);
      return { ...base, parameters: { binary_data_size: bytes.byteLength } };
    }
    return { ...base, data: toJson(tensor) };
  });
  const json = JSON.stringify({
    model_name: modelName,
    model_version: modelVersion,
    ...(id === undefined ? {} : { id }),
    outputs,
  });
  if (binaries.length === 0) return { body: json, headers: { 'content-type': 'application/json' } };
  const head = Buffer.from(json, 'utf8');
  return {
    body: Buffer.concat([head, ...binaries]),
    headers: { 'content-type': 'application/octet-stream', [HEADER_LENGTH]: String(head.byteLength) },
  };
}
