import { GpumuxError } from '../../common/errors.js';
import { formatBytes } from '../../common/bytes.js';

/**
 * Reads a request body as it streams in, with the limits a replica needs to stay bounded: at most `maxBytes`
 * (413), and a minimum upload rate — after `graceMs`, a body arriving slower than `minBytesPerSecond` on
 * average, or stalled for `graceMs`, is cut off with 408 — so a trickling client cannot hold an admission slot
 * and its memory for long. With a Content-Length the buffer is allocated once (no chunk list, no final copy).
 */

export interface UploadLimits {
  /** Average upload rate a body must keep after the grace period. Default 64 KiB/s. */
  minBytesPerSecond?: number;
  /** Time a body may take before the rate counts, and the longest pause between chunks. Default 5 s. */
  graceMs?: number;
}

export interface ReadBodyOptions extends UploadLimits {
  maxBytes: number;
}

export const DEFAULT_UPLOAD_LIMITS: Required<UploadLimits> = { minBytesPerSecond: 64 * 1024, graceMs: 5000 };

function tooLarge(maxBytes: number): GpumuxError {
  return new GpumuxError(
    'PAYLOAD_TOO_LARGE',
    `request body is larger than ${formatBytes(maxBytes)} (${maxBytes} bytes)`,
  );
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
  } = options;
  if (!request.body) return 0;
  const reader = request.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const started = performance.now();
  let received = 0;
  let lastChunkAt = started;
  let tooSlow = null as GpumuxError | null; // set by the timer's check (not narrowed to null)
  const check = () => {
    const now = performance.now();
    const elapsed = now - started;
    if (elapsed < graceMs) return;
    const rate = received / (elapsed / 1000);
    if (rate < minBytesPerSecond || now - lastChunkAt > graceMs) {
      tooSlow = new GpumuxError(
        'REQUEST_TIMEOUT',
        `request body too slow: ${received} bytes in ${(elapsed / 1000).toFixed(1)} s ` +
          `(at least ${formatBytes(minBytesPerSecond)}/s after ${graceMs / 1000} s)`,
      );
      void reader.cancel(tooSlow).catch(() => undefined);
    }
  };
  const timer = setInterval(check, Math.max(50, Math.min(1000, graceMs / 4)));
  timer.unref();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (tooSlow) throw tooSlow;
      if (done) return received;
      received += value.byteLength;
      lastChunkAt = performance.now();
      if (received > maxBytes) {
        void reader.cancel().catch(() => undefined);
        throw tooLarge(maxBytes);
      }
      await onChunk(value);
    }
  } catch (err) {
    if (tooSlow) throw tooSlow;
    throw err;
  } finally {
    clearInterval(timer);
  }
}

/** The whole body as bytes, under the limits of streamBody. */
export async function readBody(request: Request, options: ReadBodyOptions): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (Number.isSafeInteger(declared) && declared > options.maxBytes) throw tooLarge(options.maxBytes);
  if (Number.isSafeInteger(declared) && declared >= 0) {
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
