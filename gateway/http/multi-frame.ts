import { NOT_READY_RETRY_AFTER_SECONDS, sharedFrameFailure } from '../../common/back-pressure.js';
import { GpumuxError, isErrorCode, statusOf, toGpumuxError, v1ErrorBody } from '../../common/errors.js';
import { HeldBody } from '../proxy/body.js';
import type { Forwarder, ForwardRequest } from '../proxy/forward.js';

/** The parts of a multipart detect request: its `image` fields in order. */
export async function imageFields(contentType: string, body: HeldBody): Promise<Blob[]> {
  await body.whole();
  let form: FormData;
  try {
    // buffer() joins the chunks once and keeps the join: a one-frame request is forwarded from it as is.
    form = await new Response(body.buffer() ?? Buffer.alloc(0), {
      headers: { 'content-type': contentType },
    }).formData();
  } catch (err) {
    throw new GpumuxError('BAD_REQUEST', `malformed multipart body: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return form.getAll('image').map((f) => (typeof f === 'string' ? new Blob([f]) : f));
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
  frames: Blob[],
): Promise<unknown> {
  const base =
    f.version === null
      ? `/v1/models/${f.model}/detect`
      : `/v1/models/${f.model}/versions/${f.version}/detect`;
  const path = base + f.query;
  const settled = await Promise.allSettled(
    frames.map(async (frame) => {
      const bytes = Buffer.from(await frame.arrayBuffer());
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
    }),
  );
  const errors = settled.map((s) => (s.status === 'rejected' ? toGpumuxError(s.reason) : null));
  const shared = sharedFrameFailure(errors);
  if (shared) throw shared;
  return { results: settled.map((s, i) => (s.status === 'fulfilled' ? s.value : v1ErrorBody(errors[i]!))) };
}
