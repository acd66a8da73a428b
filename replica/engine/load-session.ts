import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import ort from 'onnxruntime-node';
import type { Logger } from '../../common/log.js';
import type { DisableableOptimizer } from '../../models/manifest/schema.js';
import { isCudaOutOfMemory } from './cuda-oom.js';
import type { DeviceRequest } from './device-request.js';
import { ENV_ALLOCATORS_OPTION, registerMemoryBudget, type MemoryBudget } from './memory-budget.js';
import { defaultIntraOpThreads } from './cpu-limit.js';

/**
 * One onnxruntime-node InferenceSession on the requested device. A GPU request either gets the CUDA
 * execution provider or fails loudly: a silent CPU fall-back would serve at a fraction of the speed while
 * the scheduler believes a GPU is in use. `allowCpuFallback` is the explicit opt-in.
 */

export interface SessionOptions {
  onnxPath: string;
  device: DeviceRequest;
  allowCpuFallback?: boolean;
  /** intra-op threads (CPU EP); default half the cores, at least 1. */
  threads?: number;
  /** The manifest's `onnx.graphOptimization` (default `all`). */
  graphOptimization?: GraphOptimization;
  /** The manifest's `onnx.disabledOptimizers` (default none). */
  disabledOptimizers?: readonly DisableableOptimizer[];
  /** Bound everything ONNX Runtime allocates for the session to this arena (memory-budget.ts). */
  memoryBudget?: MemoryBudget;
  logger?: Logger;
  /** Whether the CUDA provider library is installed; injected for tests (default: look beside the binding). */
  cudaInstalled?: () => boolean;
  /** Injected for tests; defaults to ort.InferenceSession.create. */
  create?: (path: string, options: ort.InferenceSession.SessionOptions) => Promise<ort.InferenceSession>;
}

export interface LoadedSession {
  session: ort.InferenceSession;
  /** What actually runs the model (cpu after a permitted fall-back). */
  device: DeviceRequest;
  fellBack: boolean;
}

/**
 * onnxruntime-node 1.30's installer fetches the provider from NuGet (Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0, a
 * CUDA 13 build: it links libcublas.so.13) but still names that flavour `cuda12`, its only valid value on
 * linux/x64 — so the flag says cuda12 and the libraries it needs are CUDA 13's.
 */
export const CUDA_INSTALL_HINT =
  'the CUDA execution provider of onnxruntime-node is not installed. Reinstall it with CUDA support: ' +
  '`ONNXRUNTIME_NODE_INSTALL=cuda12 npm install onnxruntime-node` (or `npm ci` with that variable set; "cuda12" ' +
  "is the installer's name for its CUDA flavour, which for onnxruntime-node 1.30 is a CUDA 13 build: it needs " +
  'CUDA 13 and cuDNN 9 libraries on the library path), or run with --device cpu, or pass --allow-cpu-fallback';

/** ONNX Runtime's graph optimisation level: the manifest's `onnx.graphOptimization` (default `all`). */
export type GraphOptimization = NonNullable<ort.InferenceSession.SessionOptions['graphOptimizationLevel']>;

/** How the manifest shapes the session's graph: its `onnx.graphOptimization` and `onnx.disabledOptimizers`. */
export interface GraphSettings {
  graphOptimization?: GraphOptimization | undefined;
  disabledOptimizers?: readonly DisableableOptimizer[] | undefined;
}

export function sessionOptions(
  device: DeviceRequest,
  threads?: number,
  { graphOptimization = 'all', disabledOptimizers = [] }: GraphSettings = {},
  budgeted = false,
): ort.InferenceSession.SessionOptions {
  const cpuThreads = threads ?? defaultIntraOpThreads();
  // session config entries: the binding flattens `extra`'s nesting into ONNX Runtime's dotted keys
  const extra = {
    // the budget's arena on the env, instead of the session's own unbounded one (memory-budget.ts)
    ...(budgeted ? ENV_ALLOCATORS_OPTION : {}),
    // a name list ONNX Runtime matches exactly; e.g. without ConstantFolding a many-shape file's graphs read
    // the shared weights instead of each holding folded copies (models/codetr/README.md)
    ...(disabledOptimizers.length
      ? { optimization: { disable_specified_optimizers: disabledOptimizers.join(',') } }
      : {}),
  };
  const common: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: graphOptimization,
    executionMode: 'sequential',
    // With the memory pattern on, ONNX Runtime plans one block per run from the first run and allocates it on
    // the second, while the arena keeps the first run's chunks: the process grows by a whole run's
    // activations after warm-up (Co-DETR on CPU: 9.1 GiB measured after warm-up, 16.1 GiB after the first
    // request; onnxruntime#14477). Off, every run reuses the arena's chunks and the footprint measured after
    // warm-up is the footprint for life — what packing rests on. test/replica/steady-footprint.test.ts.
    enableMemPattern: false,
    interOpNumThreads: 1,
    intraOpNumThreads: cpuThreads,
    ...(Object.keys(extra).length ? { extra } : {}),
  };
  return device.kind === 'cuda'
    ? { ...common, executionProviders: [{ name: 'cuda', deviceId: device.index }] }
    : { ...common, executionProviders: ['cpu'] };
}

/**
 * Whether onnxruntime-node's CUDA provider library sits beside its native binding (the install script puts
 * it there with ONNXRUNTIME_NODE_INSTALL=cuda12; the npm tarball alone has only the CPU build).
 */
export function cudaProviderInstalled(): boolean {
  try {
    const pkg = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    return existsSync(
      path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'),
    );
  } catch {
    return false;
  }
}

/** True when an error from session creation means the CUDA provider library could not be loaded. */
export function isMissingCudaProvider(err: unknown): boolean {
  // "CUDA failure 2: out of memory" mentions CUDA too, but the provider loaded: the GPU is full
  if (isCudaOutOfMemory(err)) return false;
  const message = err instanceof Error ? err.message : String(err);
  return /cuda|providers_shared|shared library|execution provider/i.test(message);
}

export async function loadSession(options: SessionOptions): Promise<LoadedSession> {
  const {
    onnxPath,
    device,
    allowCpuFallback = false,
    threads,
    graphOptimization,
    disabledOptimizers,
    memoryBudget,
    logger,
    cudaInstalled = cudaProviderInstalled,
  } = options;
  const create = options.create ?? ((p, o) => ort.InferenceSession.create(p, o));
  const open = (on: DeviceRequest) => {
    if (memoryBudget) registerMemoryBudget(on, memoryBudget);
    const graph = { graphOptimization, disabledOptimizers };
    return create(onnxPath, sessionOptions(on, threads, graph, memoryBudget !== undefined));
  };
  if (device.kind === 'cpu') return { session: await open(device), device, fellBack: false };
  let missing: unknown;
  if (!cudaInstalled()) {
    // checked first: asking ORT anyway works too, but it prints a native error to stderr before failing
    missing = new Error(
      'libonnxruntime_providers_cuda.so is not installed beside the onnxruntime-node binding',
    );
  } else {
    try {
      return { session: await open(device), device, fellBack: false };
    } catch (err) {
      // present but unloadable (e.g. CUDA 13 / cuDNN 9 libraries missing from the library path)
      if (!isMissingCudaProvider(err)) throw err;
      missing = err;
    }
  }
  if (!allowCpuFallback)
    throw new Error(`cannot use cuda:${device.index}: ${CUDA_INSTALL_HINT}`, { cause: missing });
  logger?.warn(
    'CUDA execution provider unavailable; falling back to the CPU as --allow-cpu-fallback permits',
    {
      device: `cuda:${device.index}`,
      err: missing,
    },
  );
  const cpu: DeviceRequest = { kind: 'cpu' };
  return { session: await open(cpu), device: cpu, fellBack: true };
}
