import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { statusOf } from '../../common/errors.js';
import type { Cancellation } from './cancellation.js';
import { clientHeaders } from './headers.js';

/** Replica statuses that mean "this replica cannot serve now", worth another replica. */
export function retryableStatus(status: number): boolean {
  return status === 502 || status === 503 || status === 504 || status === 429;
}

/** What a response cut mid-stream counts as: the client left (499), the deadline (504), the replica (502). */
export function brokenStatus(cancel: Cancellation): number {
  if (!cancel.aborted) return statusOf('UPSTREAM_FAILED');
  return statusOf(cancel.expired ? 'DEADLINE_EXCEEDED' : 'CLIENT_CLOSED');
}

/** What one attempt ended with. */
export type AttemptOutcome =
  /** The answer went to the client (status), fully written. */
  | { kind: 'done'; status: number }
  /** A retryable status arrived and the caller asked to retry on those: nothing went to the client. */
  | { kind: 'retry'; status: number }
  /** Failed before anything was sent to the client (connection refused/reset, cancelled). */
  | { kind: 'failed'; error: Error }
  /** Failed after the status line went out: the client connection is destroyed. */
  | { kind: 'broken'; status: number; error: Error };

/**
 * An undici dispatch handler that streams a replica's answer straight into the client's ServerResponse:
 * no intermediate Readable, no pipeline, backpressure by pausing the upstream while the client drains.
 */
export class StreamHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private status = 0;
  private streaming = false;
  private retrying = false;
  private finished = false;
  /** The first body chunk, held back so that a one-chunk answer leaves in a single write with res.end(). */
  private first: Buffer | null = null;
  private wroteBody = false;
  /** An abort asked for before undici handed over the controller. */
  private pendingAbort: Error | null = null;
  private readonly offCancel: () => void;

  constructor(
    private readonly res: ServerResponse,
    private readonly requestId: string,
    private readonly retryOnStatus: boolean,
    private readonly cancel: Cancellation,
    private readonly settle: (outcome: AttemptOutcome) => void,
  ) {
    this.offCancel = cancel.on(() => this.controller?.abort(new Error('cancelled')));
  }

  /** The replica has started answering (a status line arrived): the try can no longer be cut and retried. */
  get responded(): boolean {
    return this.status !== 0;
  }

  /** Cuts the try before the replica answered (the per-try timeout); it settles as `failed` with `error`. */
  abort(error: Error): void {
    if (this.responded || this.finished) return;
    if (this.controller) this.controller.abort(error);
    else this.pendingAbort = error;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.cancel.aborted) controller.abort(new Error('cancelled'));
    else if (this.pendingAbort) controller.abort(this.pendingAbort);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    if (statusCode < 200) return; // 1xx: wait for the real answer
    this.status = statusCode;
    if (this.retryOnStatus && retryableStatus(statusCode)) {
      this.retrying = true; // read and drop the small error body so the connection stays reusable
      return;
    }
    this.streaming = true;
    this.res.writeHead(statusCode, clientHeaders(headers, this.requestId));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.retrying) return;
    if (!this.wroteBody && this.first === null) {
      this.first = chunk;
      return;
    }
    this.wroteBody = true;
    if (this.first !== null) {
      this.res.write(this.first);
      this.first = null;
    }
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    if (this.retrying) return this.finish({ kind: 'retry', status: this.status });
    if (this.first !== null) this.res.end(this.first);
    else this.res.end();
    this.first = null;
    this.finish({ kind: 'done', status: this.status });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.streaming) {
      this.res.destroy();
      this.finish({ kind: 'broken', status: this.status, error });
    } else this.finish({ kind: 'failed', error });
  }

  private finish(outcome: AttemptOutcome): void {
    if (this.finished) return;
    this.finished = true;
    this.offCancel();
    this.settle(outcome);
  }
}
