import type { ServerResponse } from 'node:http';
import { NOT_READY_RETRY_AFTER_SECONDS } from '../../common/back-pressure.js';
import { GpumuxError, isErrorCode, statusOf } from '../../common/errors.js';
import { imageBytes, readImageParts, type ImagePart } from '../../common/http/multipart.js';
import { answerFrames } from '../../common/http/multipart-answer.js';
import { HeldBody } from '../proxy/body.js';
import type { Forwarder, ForwardRequest } from '../proxy/forward.js';

/**
 * The `image` parts of a multipart detect request, parsed by the replica's parser (common/http/multipart.ts)
 * from the held body's chunks as they arrive: the images stay slices of those chunks, within the body's budget.
 */
export async function imageFields(
  contentType: string,
  body: HeldBody,
  maxBytes: number,
  maxFrames: number,
): Promise<ImagePart[]> {
  return readImageParts(contentType, { maxBytes, maxFrames }, async (write) => {
    for await (const chunk of body.stream()) await write(chunk);
  });
}

type ReplicaAnswer = { error?: { code?: string; message?: string } };

function parseReplicaJson(text: string): ReplicaAnswer | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The image type from its first bytes (parts often come without one); the replica takes raw jpeg/png/webp. */
export function sniffImageType(bytes: Uint8Array, declared: string): string {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'image/jpeg';
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'image/png';
  if (bytes[0] === 0x52 && bytes[1] === 0x49 && bytes[8] === 0x57 && bytes[9] === 0x45) return 'image/webp';
  return declared || 'application/octet-stream';
}

/**
 * A multi-frame detect: each frame goes to its own replica (routed and retried like any request), answers
 * come back in the request's order as the replica itself would give them: `{ results: [frame | {error}] }`.
 * When every frame failed alike with back-pressure (common/back-pressure.ts), that error is the answer.
 */
export async function detectFramesAcross(
  forwarder: Forwarder,
  f: Omit<ForwardRequest, 'res' | 'req' | 'body' | 'path' | 'method'> & { query: string },
  frames: readonly ImagePart[],
): Promise<unknown> {
  const base =
    f.version === null
      ? `/v1/models/${f.model}/detect`
      : `/v1/models/${f.model}/versions/${f.version}/detect`;
  const path = base + f.query;
  return answerFrames(frames, async (frame) => {
    const bytes = imageBytes(frame);
    const response = await forwarder.exchange({
      ...f,
      path,
      method: 'POST',
      body: HeldBody.of(bytes),
      headers: {
        'content-type': sniffImageType(bytes, frame.type),
        'content-length': String(bytes.length),
        'x-request-id': f.requestId,
      },
    });
    const text = await response.body.text();
    const json = parseReplicaJson(text);
    if (json === undefined) {
      // Not the replica's JSON (e.g. an HTML 502 from a proxy in between): the replica's side failed.
      throw new GpumuxError(
        'UPSTREAM_FAILED',
        `replica answered ${response.statusCode} with a body that is not JSON`,
        { details: { replicaStatus: response.statusCode } },
      );
    }
    if (response.statusCode === 200) return json;
    const code = json.error?.code;
    // Keep the replica's own code so the merged answer reads as the replica's would.
    const known = isErrorCode(code) ? code : 'INFERENCE_FAILED';
    const backOff = statusOf(known) === 429 || statusOf(known) === 503;
    throw new GpumuxError(
      known,
      json.error?.message ?? `replica answered ${response.statusCode}`,
      backOff ? { retryAfterSeconds: NOT_READY_RETRY_AFTER_SECONDS } : {},
    );
  });
}

/**
 * A multipart detect request: parses its `image` parts (413 over `maxFrames`) and, when there are several,
 * answers them across replicas (detectFramesAcross) and writes the merged answer; returns its status. Null:
 * one frame, which goes upstream as the request it is. `url` is the request's (its query goes with each frame).
 */
export async function answerMultiFrame(
  forwarder: Forwarder,
  contentType: string,
  body: HeldBody,
  /** The model's detect body limit (Inventory.bodyLimit) and the most frames one request may carry. */
  maxBytes: number,
  maxFrames: number,
  base: Omit<Parameters<typeof detectFramesAcross>[1], 'query'>,
  url: string,
  res: ServerResponse,
): Promise<number | null> {
  const frames = await imageFields(contentType, body, maxBytes, maxFrames);
  if (frames.length > maxFrames) {
    throw new GpumuxError(
      'PAYLOAD_TOO_LARGE',
      `${frames.length} images in one request; at most ${maxFrames}`,
    );
  }
  if (frames.length <= 1) return null;
  const q = url.indexOf('?');
  const f = { ...base, query: q < 0 ? '' : url.slice(q) };
  const merged = JSON.stringify(await detectFramesAcross(forwarder, f, frames));
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(merged),
    'x-request-id': f.requestId,
  });
  res.end(merged);
  return 200;
}
