import type ort from 'onnxruntime-node';
import type { DeviceRequest } from './device-request.js';
import type { LoadedSession } from './load-session.js';
import type { TensorData } from './tensors.js';

/**
 * What the engine needs of an ONNX Runtime session, wherever it runs: in a worker thread (the default, so
 * `session.run()` never blocks the event loop) or on the main thread (`sessionThread: 'main'`, the old path,
 * kept for comparison and for tests that wrap a real session). Tensors are plain typed arrays, so they can
 * cross a thread boundary by transfer.
 */

/** One named tensor: ONNX Runtime's type name, dimensions (batch first) and row-major data. */
export interface NamedTensor {
  name: string;
  type: ort.Tensor.Type;
  dims: number[];
  data: TensorData;
}

/** An input or output as the session describes it (plain data: it crosses threads). */
export interface ValueInfo {
  name: string;
  isTensor: boolean;
  /** ONNX Runtime's type name (`uint8`, `float32`, ...); empty for non-tensors. */
  type: string;
  /** Dimensions; symbolic ones are names (`N`), unknown ones -1. */
  shape: (number | string)[];
}

export interface ModelSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ValueInfo[];
  readonly outputMetadata: readonly ValueInfo[];
  /** What actually runs the model (cpu after a permitted fall-back). */
  readonly device: DeviceRequest;
  readonly fellBack: boolean;
  /**
   * Runs one batch. The feeds' buffers may be transferred away (detached) to the thread that runs it: the
   * caller must not use them afterwards. Rejects with ONNX Runtime's error (messages and causes kept).
   */
  run(feeds: NamedTensor[]): Promise<NamedTensor[]>;
  release(): Promise<void>;
}

export function valueInfoOf(metadata: readonly ort.InferenceSession.ValueMetadata[]): ValueInfo[] {
  return metadata.map((v) =>
    v.isTensor
      ? { name: v.name, isTensor: true, type: v.type, shape: [...v.shape] }
      : { name: v.name, isTensor: false, type: '', shape: [] },
  );
}

/** One batch through an ONNX Runtime session, NamedTensors in and out (both session paths run it so). */
export async function runNamed(
  session: ort.InferenceSession,
  feeds: readonly NamedTensor[],
  Tensor: typeof ort.Tensor,
): Promise<NamedTensor[]> {
  const input: Record<string, ort.Tensor> = {};
  for (const f of feeds) input[f.name] = new Tensor(f.type, f.data as ort.Tensor.DataType, f.dims);
  const results = await session.run(input);
  return session.outputNames.map((name) => {
    const t = results[name]!;
    return { name, type: t.type, dims: t.dims.map(Number), data: t.data as TensorData };
  });
}

/** A session on this thread: `session.run()` blocks the event loop for the whole inference. */
export function inThreadSession(loaded: LoadedSession, Tensor: typeof ort.Tensor): ModelSession {
  const { session } = loaded;
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    inputMetadata: valueInfoOf(session.inputMetadata),
    outputMetadata: valueInfoOf(session.outputMetadata),
    device: loaded.device,
    fellBack: loaded.fellBack,
    run: (feeds) => runNamed(session, feeds, Tensor),
    release: () => session.release(),
  };
}
