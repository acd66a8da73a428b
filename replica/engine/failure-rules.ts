import { NOT_READY_RETRY_AFTER_SECONDS } from '../../common/back-pressure.js';
import { GpumuxError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { isCudaOutOfMemory } from './cuda-oom.js';
import { formatDevice, type DeviceRequest } from './device-request.js';
import type { CudaOomFault } from './fault-injection.js';
import { budgetShortfall, memoryBudgetError } from './memory-budget.js';
import type { EngineLifecycle } from './state.js';
import type { EngineTelemetry } from './telemetry.js';

/** The 503 for work the engine can no longer do: retry on another replica. */
const exiting = (cause?: unknown) =>
  new GpumuxError('NOT_READY', 'replica cannot go on and is exiting; retry on another replica', {
    retryAfterSeconds: NOT_READY_RETRY_AFTER_SECONDS,
    ...(cause === undefined ? {} : { cause }),
  });

/**
 * When an error ends the engine rather than one batch: out of memory (the budget's arena or the GPU) and a
 * dead session worker turn it `failed` (`life.fail` reports it once, the process exits); every other batch
 * error fails only that batch's frames.
 *
 * @example
 * const rules = createFailureRules({ life, telemetry, memoryBudgetBytes, log, runningOn: () => device });
 * const run = rules.guardBatch(() => runRows(...), oomFault);
 */
export function createFailureRules(options: {
  life: EngineLifecycle;
  telemetry: EngineTelemetry;
  memoryBudgetBytes: number | undefined;
  log: Logger;
  /** What runs the model now: the device asked for, or the CPU after a permitted fall-back. */
  runningOn: () => DeviceRequest;
}) {
  const { life, telemetry, memoryBudgetBytes, log, runningOn } = options;

  /**
   * Out of memory leaves the session in doubt: fail (no new work) and exit. The budget's arena refusing an
   * allocation (any device) is a fact about the model's footprint; a CUDA OOM one about the GPU's headroom.
   * Returns whether it was either. `injected`: the test-only fault, a CUDA OOM on whatever device.
   */
  const failOnOutOfMemory = (err: unknown, injected = false): boolean => {
    const shortfall = memoryBudgetBytes === undefined ? null : budgetShortfall(err, memoryBudgetBytes);
    if (shortfall) {
      life.fail({
        reason: 'memory-budget-exceeded',
        device: formatDevice(runningOn()),
        error: memoryBudgetError(shortfall, err),
      });
      return true;
    }
    if ((runningOn().kind !== 'cuda' && !injected) || !isCudaOutOfMemory(err)) return false;
    const d = telemetry.current().device();
    const gpu = [d.index === null ? null : `GPU ${d.index}`, d.uuid].filter(Boolean).join(' ');
    life.fail({
      reason: 'cuda-out-of-memory',
      device: `${formatDevice(runningOn())} (node ${d.node}${gpu ? `, ${gpu}` : ''})`,
      error: err,
    });
    return true;
  };

  return {
    failOnOutOfMemory,

    /** The session worker died (native crash, uncaught error): nothing can run any more. */
    onWorkerExit: (error: Error) => {
      log.error('the session worker ended', { err: error });
      life.fail({ reason: 'session-worker-exited', device: formatDevice(runningOn()), error });
    },

    /** One batch under the rules: refused once fatal, the injected fault first, an OOM ends the engine. */
    async guardBatch<T>(run: () => Promise<T>, oomFault: CudaOomFault | null): Promise<T> {
      if (life.fatal) throw exiting(); // frames still queued behind the failed batch never touch the session
      try {
        oomFault?.beforeBatch();
      } catch (err) {
        failOnOutOfMemory(err, true);
        throw exiting(err);
      }
      try {
        return await run();
      } catch (err) {
        if (failOnOutOfMemory(err) || life.fatal) throw exiting(err);
        throw err;
      }
    },
  };
}

export type FailureRules = ReturnType<typeof createFailureRules>;
