import { GpumuxError } from '../errors.js';

/**
 * The rule for slow uploads, one implementation for the gateway and the replica: an upload takes a request
 * slot only once it is complete or proven fast, and one slower than the minimum rate is cut off with 408 — so
 * clients trickling their bodies hold neither slots nor, for long, memory.
 */

/** The slowest upload a server waits for: after `graceMs`, at least `minBytesPerSecond` on average. */
export interface UploadPace {
  minBytesPerSecond: number;
  graceMs: number;
}

/** Bytes an upload must deliver, at the minimum pace, before it counts as proven fast. */
export const PROVEN_FAST_BYTES = 64 * 1024;

/**
 * One upload's progress against a pace. `received` is read when needed (the caller counts the bytes);
 * `declared` is the Content-Length (null: chunked), which caps what the pace can ask for.
 *
 * @example
 * const upload = new PacedUpload(pace, declared, () => received);
 * const stop = upload.watch((err) => abort(err)); // 408 once it falls behind
 * if (upload.complete || upload.provenFast()) takeSlot();
 */
export class PacedUpload {
  readonly startedAt = performance.now();

  constructor(
    readonly pace: UploadPace | null,
    readonly declared: number | null,
    private readonly received: () => number,
  ) {}

  /** Bytes the upload must have delivered by `now` to keep its pace (0 within the grace period). */
  requiredBytes(now = performance.now()): number {
    if (!this.pace || this.pace.minBytesPerSecond <= 0) return 0;
    const elapsed = now - this.startedAt;
    if (elapsed < this.pace.graceMs) return 0;
    const due = (this.pace.minBytesPerSecond * elapsed) / 1000;
    return this.declared === null ? due : Math.min(this.declared, due);
  }

  /** True when the upload has fallen behind its pace. */
  behind(now = performance.now()): boolean {
    return this.received() < this.requiredBytes(now);
  }

  /** PROVEN_FAST_BYTES arrived, at least at the minimum pace: the rest can be expected at about that speed. */
  provenFast(now = performance.now()): boolean {
    const received = this.received();
    if (received < PROVEN_FAST_BYTES) return false;
    if (!this.pace) return true;
    const elapsed = Math.max(1, now - this.startedAt);
    return (received * 1000) / elapsed >= this.pace.minBytesPerSecond;
  }

  /** The 408 for an upload that fell behind. */
  tooSlow(now = performance.now()): GpumuxError {
    const seconds = ((now - this.startedAt) / 1000).toFixed(1);
    const min = this.pace?.minBytesPerSecond ?? 0;
    return new GpumuxError(
      'REQUEST_TIMEOUT',
      `request body arrived slower than ${min} bytes/s (the minimum upload rate): ` +
        `${this.received()} bytes in ${seconds} s`,
    );
  }

  /**
   * Checks the pace on a timer — an upload that stops sending has no chunks to check — and calls `onTooSlow`
   * once when it falls behind. Returns the function that stops watching (call it when the body is complete).
   */
  watch(onTooSlow: (err: GpumuxError) => void): () => void {
    const pace = this.pace;
    if (!pace || pace.minBytesPerSecond <= 0) return () => undefined;
    let timer: NodeJS.Timeout | undefined;
    const check = (): void => {
      if (this.behind()) return onTooSlow(this.tooSlow());
      timer = setTimeout(check, Math.max(50, Math.min(1000, pace.graceMs / 4))).unref();
    };
    timer = setTimeout(check, pace.graceMs).unref();
    return () => clearTimeout(timer);
  }
}
