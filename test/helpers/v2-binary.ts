/**
 * The KServe v2 binary tensor extension, by hand from the spec, for tests: a request is a JSON header followed
 * by the raw tensor bytes, with `Inference-Header-Content-Length` saying where the JSON ends; a response is
 * laid out the same way.
 */

const HEADER_LENGTH = 'inference-header-content-length';

/** A POST whose body is `header` as JSON followed by `tensors` (in the order the header lists them). */
export function binaryInferRequest(header: object, ...tensors: Uint8Array[]): RequestInit {
  const json = Buffer.from(JSON.stringify(header));
  return {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', [HEADER_LENGTH]: String(json.byteLength) },
    body: Buffer.concat([json, ...tensors]),
  };
}

export interface BinaryInferResponse<T> {
  /** The JSON part, parsed. */
  json: T;
  /** Its length in bytes, from the response header. */
  jsonLength: number;
  /** The whole body. */
  raw: Buffer;
  /** The bytes after the JSON: the binary outputs, in the order the JSON lists them. */
  binary: Buffer;
}

/** Splits a binary-extension response into its JSON and the binary outputs after it. */
export async function readBinaryInferResponse<T>(res: Response): Promise<BinaryInferResponse<T>> {
  const jsonLength = Number(res.headers.get(HEADER_LENGTH));
  const raw = Buffer.from(await res.arrayBuffer());
  const json = JSON.parse(raw.subarray(0, jsonLength).toString('utf8')) as T;
  return { json, jsonLength, raw, binary: raw.subarray(jsonLength) };
}
