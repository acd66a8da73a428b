import { GpumuxError } from '../../common/errors.js';
import { formatBytes } from '../../common/bytes.js';
import { PacedUpload } from '../../common/http/upload-pace.js';

/**
 * Reads a request body as it streams in, with the limits a replica needs to stay bounded: at most `maxBytes`
 * (413), and the gateway's rule for slow uploads (common/http/upload-pace.ts) — the body takes a request slot
 * (`onReady`) only once complete or proven fast, and one arriving slower than `minBytesPerSecond` after
 * `graceMs` is cut off with 408 — so trickling clients hold neither admission slots nor, for long, memory.
 * With a Content-Length the buffer is allocated once (no chunk list, no final copy).
 */

export interface UploadLimits {
  /** Average upload rate a body must keep after the grace period. Default 64 KiB/s. */
  minBytesPerSecond?: number;
  /** Time a body may take before the rate counts. Default 5 s. */
  graceMs?: number;
}

export interface ReadBodyOptions extends UploadLimits {
  maxBytes: number;
  /**
   * Called once, when the body may take a request slot: complete, or proven fast. It may throw (429 when
   * the slots are full): the body is then left unread and the error is the answer.
   */
  onReady?: (() => void) | undefined;
}

export const DEFAULT_UPLOAD_LIMITS: Required<UploadLimits> = { minBytesPerSecond: 64 * 1024, graceMs: 5000 };

function tooLarge(maxBytes: number): GpumuxError {
  return new GpumuxError(
    'PAYLOAD_TOO_LARGE',
    `request body is larger than ${formatBytes(maxBytes)} (${maxBytes} bytes)`,
  );
}

function declaredLength(request: Request): number | null {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  return Number.isSafeInteger(declared) && declared >= 0 ? declared : null;
}

/**
 * Streams the body chunk by chunk to `onChunk` (awaited: back-pressure), enforcing the size and rate limits.
 * Resolves with the byte count.
 */
export async function streamBody(
  request: Request,
  options: ReadBodyOptions,
  onChunk: (chunk: Uint8Array) => void | Promise<void>,
): Promise<number> {
  const {
    maxBytes,
    minBytesPerSecond = DEFAULT_UPLOAD_LIMITS.minBytesPerSecond,
    graceMs = DEFAULT_UPLOAD_LIMITS.graceMs,
    onReady,
  } = options;
  let ready = false;
  const markReady = (): void => {
    if (ready) return;
    ready = true;
    onReady?.();
  };
  if (!request.body) {
    markReady();
    return 0;
  }
  const reader = request.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  let received = 0;
  const upload = new PacedUpload({ minBytesPerSecond, graceMs }, declaredLength(request), () => received);
  let tooSlow = null as GpumuxError | null; // set by the pace timer (not narrowed to null)
  const unwatch = upload.watch((err) => {
    tooSlow = err;
    void reader.cancel(err).catch(() => undefined);
  });
  try {
    for (;;) {
      const { done, value } = await reader.read().catch((err: unknown) => {
        // the connection broke mid-body (the client went away): its doing, answered with 499 and not logged
        // as our failure
        throw (
          tooSlow ??
          new GpumuxError('CLIENT_CLOSED', 'the client closed the request mid-body', { cause: err })
        );
      });
      if (tooSlow) throw tooSlow;
      if (done) {
        markReady();
        return received;
      }
      received += value.byteLength;
      if (received > maxBytes) throw tooLarge(maxBytes);
      if (!ready && upload.provenFast()) markReady();
      await onChunk(value);
    }
  } catch (err) {
    // the rest is not read: a body whose answer is already decided must not keep the connection busy
    void reader.cancel().catch(() => undefined);
    if (tooSlow) throw tooSlow;
    throw err;
  } finally {
    unwatch();
  }
}

/** The whole body as bytes, under the limits of streamBody. */
export async function readBody(request: Request, options: ReadBodyOptions): Promise<Uint8Array> {
  const declared = declaredLength(request);
  if (declared !== null && declared > options.maxBytes) throw tooLarge(options.maxBytes);
  if (declared !== null) {
    const out = new Uint8Array(declared);
    let at = 0;
    await streamBody(request, { ...options, maxBytes: Math.min(declared, options.maxBytes) }, (chunk) => {
      out.set(chunk, at);
      at += chunk.byteLength;
    });
    if (at !== declared)
      throw new GpumuxError('BAD_REQUEST', `request body ended after ${at} of ${declared} bytes`);
    return out;
  }
  const chunks: Uint8Array[] = [];
  const total = await streamBody(request, options, (chunk) => void chunks.push(chunk));
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
