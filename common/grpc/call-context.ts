import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { parseDuration } from '../duration.js';
import { GpumuxError } from '../errors.js';

/** The longest deadline honoured, as for the REST `timeout` header. */
const MAX_DEADLINE_MS = 10 * 60_000;

export interface CallContext {
  requestId: string;
  signal: AbortSignal;
  /** True once the deadline has passed. */
  expired(): boolean;
  /** Stops the deadline timer and the cancel listener. */
  done(): void;
}

function first(metadata: Metadata, key: string): string | undefined {
  const v = metadata.get(key)[0];
  return v === undefined ? undefined : String(v);
}

/** The call's gRPC deadline, else a `timeout` metadata entry (as the REST header), else `defaultMs`. */
export function deadlineMsOf(call: ServerUnaryCall<unknown, unknown>, defaultMs: number): number {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  let ms = Number.isFinite(at) ? Math.max(0, at - Date.now()) : Infinity;
  const header = first(call.metadata, 'timeout');
  if (header !== undefined) {
    let parsed: number;
    try {
      parsed = parseDuration(header);
    } catch {
      throw new GpumuxError('INVALID_PARAMETER', `invalid timeout "${header}" (milliseconds, or e.g. 2s)`);
    }
    if (!(parsed > 0)) throw new GpumuxError('INVALID_PARAMETER', 'timeout must be positive');
    ms = Math.min(ms, parsed);
  }
  if (ms === Infinity) ms = defaultMs;
  return Math.min(ms, MAX_DEADLINE_MS);
}

/** A sane client request id (`x-request-id` metadata) or a fresh one, as the REST path does. */
export function requestIdOf(metadata: Metadata): string {
  const v = first(metadata, 'x-request-id');
  return v !== undefined && v.length > 0 && v.length <= 128 && /^[\w.:-]+$/.test(v) ? v : randomUUID();
}

/** Per-call cancellation: the deadline and the client's cancel, as one AbortSignal. */
export function callContext(call: ServerUnaryCall<unknown, unknown>, defaultTimeoutMs: number): CallContext {
  const controller = new AbortController();
  const ms = deadlineMsOf(call, defaultTimeoutMs);
  let expired = false;
  const timer = Number.isFinite(ms)
    ? setTimeout(() => {
        expired = true;
        controller.abort(new GpumuxError('DEADLINE_EXCEEDED', 'deadline exceeded'));
      }, ms)
    : undefined;
  const onCancel = (): void => {
    if (!controller.signal.aborted)
      controller.abort(new GpumuxError('CLIENT_CLOSED', 'client cancelled the call'));
  };
  call.once('cancelled', onCancel);
  return {
    requestId: requestIdOf(call.metadata),
    signal: controller.signal,
    expired: () => expired,
    done() {
      if (timer) clearTimeout(timer);
      call.off('cancelled', onCancel);
    },
  };
}
