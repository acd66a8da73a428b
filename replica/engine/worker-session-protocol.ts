import { thrownText } from '../../common/errors.js';
import type { DisableableOptimizer } from '../../models/manifest/schema.js';
import type { GraphOptimization } from './load-session.js';
import type { MemoryBudget } from './memory-budget.js';
import type { NamedTensor, ValueInfo } from './model-session.js';
import type { DeviceRequest } from './device-request.js';

/** Messages between the engine (main thread) and its session worker (worker-session-thread.ts). */

export interface WorkerLoadOptions {
  onnxPath: string;
  device: DeviceRequest;
  allowCpuFallback: boolean;
  threads?: number;
  graphOptimization?: GraphOptimization;
  disabledOptimizers?: readonly DisableableOptimizer[];
  memoryBudget?: MemoryBudget;
}

/** An error as it crosses threads: messages of the error and its causes, outermost first. */
export interface WireError {
  name: string;
  messages: string[];
  stack?: string;
}

export type ToWorker =
  | { op: 'load'; options: WorkerLoadOptions }
  | { op: 'run'; id: number; feeds: NamedTensor[] }
  | { op: 'release' };

export type FromWorker =
  | {
      op: 'loaded';
      inputNames: string[];
      outputNames: string[];
      inputMetadata: ValueInfo[];
      outputMetadata: ValueInfo[];
      device: DeviceRequest;
      fellBack: boolean;
    }
  | { op: 'load-failed'; error: WireError }
  | { op: 'ran'; id: number; outputs: NamedTensor[] }
  | { op: 'run-failed'; id: number; error: WireError }
  | { op: 'log'; level: 'warn' | 'info'; msg: string; fields: Record<string, unknown> }
  | { op: 'released' };

export function toWire(err: unknown): WireError {
  const messages: string[] = [];
  let e: unknown = err;
  for (let depth = 0; depth < 6 && e !== undefined && e !== null; depth++) {
    messages.push(e instanceof Error ? e.message : thrownText(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return {
    name: err instanceof Error ? err.name : 'Error',
    messages,
    ...(err instanceof Error && err.stack ? { stack: err.stack } : {}),
  };
}

/** The error again, with its cause chain (so isCudaOutOfMemory and rootMessage see ONNX Runtime's words). */
export function fromWire(wire: WireError): Error {
  let err: Error | undefined;
  for (const message of [...wire.messages].reverse()) {
    err = new Error(message, err === undefined ? undefined : { cause: err });
  }
  const out = err ?? new Error('unknown error in the session worker');
  out.name = wire.name;
  if (wire.stack) out.stack = wire.stack;
  return out;
}

/** The buffers of these tensors that can move to another thread without a copy (each whole and unshared). */
export function transferables(tensors: readonly NamedTensor[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const { data } of tensors) {
    const buf = data.buffer;
    // a view into a larger buffer (a v2 row, Node's Buffer pool) would detach its neighbours: copy those
    if (buf instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === buf.byteLength)
      out.add(buf);
  }
  return [...out];
}
