import type { IncomingMessage } from 'node:http';
import { GpumuxError } from '../../common/errors.js';
import { unlimitedBodyBudget, type BodyBudget } from '../../common/http/body-budget.js';
import { PacedUpload, PROVEN_FAST_BYTES, type UploadPace } from '../../common/http/upload-pace.js';
import type { Cancellation } from './cancellation.js';

function overBudget(): GpumuxError {
  return new GpumuxError('OVERLOADED', 'the gateway holds as many request bodies as it may; retry shortly', {
    retryAfterSeconds: 1,
  });
}

/**
 * Bodies declared larger than this are streamed to the replica while they arrive (see HeldBody), once this
 * much arrived at the minimum pace (common/http/upload-pace.ts).
 */
export const STREAM_THRESHOLD_BYTES = PROVEN_FAST_BYTES;

/**
 * A request body, held once as the chunks Node delivers (bounded by the body limit) and never copied on the
 * way in. Small bodies are sent as one Buffer once complete. Large ones (declared Content-Length above
 * STREAM_THRESHOLD_BYTES) are streamed to the first replica as they arrive — a tee: the same chunks stay
 * held, so a retry on another replica re-sends them from memory. Memory stays bounded by the process-wide
 * body budget (see BodyBudget), whatever the number of connections.
 */
export class HeldBody {
  chunks: Buffer[] = [];
  length = 0;
  complete = false;
  error: GpumuxError | null = null;
  /** Content-Length the client declared (null: chunked). */
  declared: number | null = null;
  /** Bytes taken from the budget for this body. */
  private reserved = 0;
  private budget: BodyBudget = unlimitedBodyBudget;
  /** Waiters for the next chunk or the end (the streaming attempt and a retry may both wait). */
  private wakers: (() => void)[] = [];
  /** The pace the upload must keep (common/http/upload-pace.ts); null when not reading from a client. */
  private upload: PacedUpload | null = null;
  /** Stops reading the client's body (listeners off, rest drained): set while reading. */
  private detach: (() => void) | null = null;

  static empty(): HeldBody {
    const b = new HeldBody();
    b.complete = true;
    b.declared = 0;
    return b;
  }

  /**
   * A body already whole in memory (a gRPC message): its bytes are taken from `budget` as a REST body's are,
   * and given back on `release()`; 429 OVERLOADED (gRPC RESOURCE_EXHAUSTED) when the budget cannot take them.
   */
  static of(bytes: Buffer, budget: BodyBudget = unlimitedBodyBudget): HeldBody {
    const b = new HeldBody();
    b.budget = budget;
    if (!b.reserve(bytes.length)) throw overBudget();
    b.chunks = [bytes];
    b.length = b.declared = bytes.length;
    b.complete = true;
    return b;
  }

  /**
   * Starts holding `req`'s body: 413 PAYLOAD_TOO_LARGE beyond `limit` (checked on Content-Length first),
   * 429 OVERLOADED when the process-wide `budget` cannot take it, and stops holding when `cancel` fires
   * (deadline → 504, client gone) or the upload falls below `pace` (408) — a slow uploader does not keep its
   * buffer. `release()` gives the bytes back.
   */
  static read(
    req: IncomingMessage,
    limit: number,
    budget: BodyBudget = unlimitedBodyBudget,
    cancel?: Cancellation,
    pace?: UploadPace,
  ): HeldBody {
    const b = new HeldBody();
    b.budget = budget;
    const header = req.headers['content-length'];
    b.declared = header === undefined ? null : Number(header);
    const upload = (b.upload = new PacedUpload(pace ?? null, b.declared, () => b.length));
    if (!b.refusedUpFront(req, limit)) b.hold(req, limit, upload, cancel);
    return b;
  }

  /** A declared length over `limit` or over the budget: refused before a byte is held (the body drained). */
  private refusedUpFront(req: IncomingMessage, limit: number): boolean {
    let err: GpumuxError | null = null;
    if (this.declared !== null && this.declared > limit)
      err = new GpumuxError('PAYLOAD_TOO_LARGE', `request body over ${limit} bytes`);
    // A declared length is reserved whole up front.
    else if (this.declared !== null && !this.reserve(this.declared)) err = overBudget();
    if (err === null) return false;
    this.fail(err);
    req.resume();
    return true;
  }

  /** Holds `req`'s chunks as they arrive, until it ends or fails (limit, budget, pace, `cancel`). */
  private hold(
    req: IncomingMessage,
    limit: number,
    upload: PacedUpload,
    cancel: Cancellation | undefined,
  ): void {
    const stop = (err: GpumuxError): void => {
      cleanup();
      req.resume(); // drained, not held
      this.fail(err);
    };
    const onData = (chunk: Buffer): void => {
      this.length += chunk.length;
      if (this.length > limit)
        return stop(new GpumuxError('PAYLOAD_TOO_LARGE', `request body over ${limit} bytes`));
      if (this.length > this.reserved && !this.reserve(this.length - this.reserved))
        return stop(overBudget());
      this.chunks.push(chunk);
      this.notify();
    };
    const onEnd = (): void => {
      cleanup();
      this.complete = true;
      this.notify();
    };
    const onError = (): void => {
      cleanup();
      this.fail(new GpumuxError('CLIENT_CLOSED', 'client closed the request'));
    };
    const offCancel = cancel?.on(() =>
      stop(
        cancel.expired
          ? new GpumuxError('DEADLINE_EXCEEDED', 'deadline exceeded while the body was uploading')
          : new GpumuxError('CLIENT_CLOSED', 'client closed the request'),
      ),
    );
    const unwatch = upload.watch(stop);
    const cleanup = (): void => {
      this.detach = null;
      unwatch();
      offCancel?.();
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onError);
    this.detach = () => {
      cleanup();
      req.resume();
    };
  }

  /** Gives the held bytes back to the budget (the request is finished with its body). */
  release(): void {
    // Answered before the body was all read (a replica's early 413, an error): the rest is drained, not held.
    if (!this.complete) this.detach?.();
    this.detach = null;
    this.budget.give(this.reserved);
    this.reserved = 0;
  }

  /** Resolves once the whole body is held; rejects with its error (413, client gone). */
  async whole(): Promise<void> {
    while (!this.complete) {
      if (this.error) throw this.error;
      await new Promise<void>((resolve) => this.wakers.push(resolve));
    }
    if (this.error) throw this.error;
  }

  /**
   * Resolves when the body may take a replica slot: once it is whole, or — for a streamed body — once its
   * first STREAM_THRESHOLD_BYTES arrived at least at the minimum pace (so the rest can be expected at about
   * the replica's speed). A client still trickling its body waits here, holding budget but no slot.
   */
  async ready(): Promise<void> {
    while (!this.complete && !(this.streams && (this.upload?.provenFast() ?? true))) {
      if (this.error) throw this.error;
      await new Promise<void>((resolve) => this.wakers.push(resolve));
    }
    if (this.error) throw this.error;
  }

  /** True when this body should be streamed rather than sent whole. */
  get streams(): boolean {
    return !this.complete && this.declared !== null && this.declared > STREAM_THRESHOLD_BYTES;
  }

  /** One Buffer for undici's fastest path (several chunks are joined once, and the join kept for retries). */
  buffer(): Buffer | null {
    if (this.chunks.length === 0) return null;
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.length)];
    return this.chunks[0]!;
  }

  /**
   * The chunks as they arrive, for streaming to the first replica; `sent` is called once the last one was
   * handed over (the body is no longer being written).
   */
  async *stream(sent?: () => void): AsyncGenerator<Buffer> {
    let i = 0;
    for (;;) {
      while (i < this.chunks.length) yield this.chunks[i++]!;
      if (this.error) throw this.error;
      if (this.complete) return sent?.();
      await new Promise<void>((resolve) => this.wakers.push(resolve));
    }
  }

  private reserve(bytes: number): boolean {
    if (!this.budget.take(bytes)) return false;
    this.reserved += bytes;
    return true;
  }

  private fail(err: GpumuxError): void {
    this.error = err;
    this.notify();
  }

  private notify(): void {
    if (this.wakers.length === 0) return;
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }
}
