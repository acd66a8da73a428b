import { formatBytes } from '../../common/bytes.js';
import { GpumuxError, thrownText } from '../../common/errors.js';
import { MEMORY_BUDGET_MARKER } from '../exit-codes.js';
import type { DeviceRequest } from './device-request.js';
import { ortCApi, type OrtCApi } from './ort-c-api.js';

/**
 * A replica's memory budget, enforced by ONNX Runtime itself: one arena on the process's OrtEnv (the C API's
 * environment-level shared allocator, reached past onnxruntime-node's binding by ort-c-api.ts) whose
 * `max_mem` is the budget and which grows by what is asked (`kSameAsRequested`), not in powers of two; the
 * session uses it (session config `session.use_env_allocators = 1`, through the binding's `extra` option).
 * Weights, pre-packed weights and activations all come from that arena, so a model that needs more than its
 * budget fails the allocation that crosses it — at warm-up, which runs the largest bucket at max batch —
 * with ONNX Runtime's "Available memory of A is smaller than requested bytes of R".
 *
 * On CUDA the arena bounds device memory ONNX Runtime allocates (weights, activations, cuDNN convolution
 * workspaces: ORT takes them from its allocator). It does not bound the CUDA context, the cuBLAS/cuBLASLt
 * workspaces and cuDNN handle state the libraries cudaMalloc themselves: the plan counts those as a separate
 * overhead (scheduler/memory-terms.ts). cuDNN's algorithm search stays the binding's (EXHAUSTIVE, max
 * workspace): provider options given here configure only this allocator, not the session's provider.
 */

export interface MemoryBudget {
  /** The arena's `max_mem`: everything ONNX Runtime allocates for this replica's session. */
  bytes: number;
}

/**
 * ORT's `arena_extend_strategy` kSameAsRequested (onnxruntime_c_api.h, CreateArenaCfgV2): the arena grows by
 * what is asked, where ORT's default (kNextPowerOfTwo, 0) can reserve ~2×.
 */
const SAME_AS_REQUESTED = 1;

/** The session option that makes a session take its allocators from the env (onnxruntime-node's `extra`). */
export const ENV_ALLOCATORS_OPTION = { session: { use_env_allocators: '1' } } as const;

/**
 * Registers the budget's arena on the process's OrtEnv for `device`, replacing one an earlier load registered
 * (sessions already open keep theirs). Call before creating the session, in the thread that creates it.
 */
export function registerMemoryBudget(
  device: DeviceRequest,
  budget: MemoryBudget,
  api: OrtCApi = ortCApi(),
): void {
  if (!(budget.bytes > 0) || !Number.isSafeInteger(budget.bytes))
    throw new Error(`memory budget must be a positive whole number of bytes, got ${budget.bytes}`);
  const env = api.env();
  const info = device.kind === 'cuda' ? api.memoryInfo('Cuda', device.index) : api.cpuMemoryInfo();
  const cfg = api.arenaCfg({ max_mem: budget.bytes, arena_extend_strategy: SAME_AS_REQUESTED });
  try {
    api.unregisterAllocator(env, info); // a replaced budget (tests open several sessions in one process)
    if (device.kind === 'cuda') {
      api.registerAllocatorV2(env, 'CUDAExecutionProvider', info, cfg, {
        device_id: String(device.index),
        arena_extend_strategy: String(SAME_AS_REQUESTED),
        gpu_mem_limit: String(budget.bytes),
      });
    } else {
      api.registerAllocator(env, info, cfg);
    }
  } finally {
    api.releaseArenaCfg(cfg);
    api.releaseMemoryInfo(info);
  }
}

/** What an allocation past the budget asked for, from ONNX Runtime's BFC arena message. */
export interface BudgetShortfall {
  budgetBytes: number;
  /** What the arena could still give when it refused. */
  availableBytes: number;
  /** The one allocation it refused. */
  requestedBytes: number;
  /** A floor for what the model needs: budget − available + requested. */
  neededBytes: number;
}

const ARENA_REFUSAL = /Available memory of (\d+) is smaller than requested bytes of (\d+)/;

/** The shortfall when `err` (or its causes) is the budget's arena refusing an allocation; else null. */
export function budgetShortfall(err: unknown, budgetBytes: number): BudgetShortfall | null {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 6; depth++) {
    const match = ARENA_REFUSAL.exec(e instanceof Error ? e.message : thrownText(e));
    if (match) {
      const availableBytes = Number(match[1]);
      const requestedBytes = Number(match[2]);
      return {
        budgetBytes,
        availableBytes,
        requestedBytes,
        neededBytes: budgetBytes - availableBytes + requestedBytes,
      };
    }
    e = e instanceof Error ? e.cause : undefined;
  }
  return null;
}

/** The stable error for a model that needs more than its budget: names the budget and what was asked. */
export function memoryBudgetError(shortfall: BudgetShortfall, cause: unknown): GpumuxError {
  const { budgetBytes, availableBytes, requestedBytes, neededBytes } = shortfall;
  return new GpumuxError(
    'MEMORY_BUDGET_EXCEEDED',
    `${MEMORY_BUDGET_MARKER}: budget ${formatBytes(budgetBytes)} (${budgetBytes} bytes); ONNX Runtime asked for ` +
      `${formatBytes(requestedBytes)} (${requestedBytes} bytes) with ${formatBytes(availableBytes)} left: ` +
      `the model needs at least ${neededBytes} bytes`,
    { cause, details: { ...shortfall } },
  );
}
