import type { Logger } from '../common/log.js';
import { REPLICA_EXIT_CODES } from './exit-codes.js';
import { writeTerminationLog } from './fatal.js';
import { checkGpuAssignment } from './telemetry/gpu-assignment.js';
import { createNvidiaSmi } from './telemetry/nvidia-smi.js';

/**
 * At start: checks the GPU assignment (telemetry/gpu-assignment.ts) and, when the container does not see
 * exactly its GPU, logs why, writes it to the termination log (the scheduler reads it from the pod status)
 * and exits with REPLICA_EXIT_CODES.gpuAssignment. Returns when the assignment holds or does not apply.
 */
export async function refuseWrongGpu(options: {
  deviceKind: 'cpu' | 'cuda';
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  terminationLogPath?: string;
}): Promise<void> {
  const { deviceKind, logger, env = process.env } = options;
  const terminationLogPath =
    options.terminationLogPath ?? env.GPUMUX_TERMINATION_LOG ?? '/dev/termination-log';
  const smi = createNvidiaSmi();
  const result = await checkGpuAssignment({ deviceKind, env, listGpus: () => smi.list() });
  if (result.ok) {
    if (result.gpu) logger.info('GPU assignment checked', { uuid: result.gpu.uuid, name: result.gpu.name });
    else logger.debug('GPU assignment not checked', { why: result.skipped });
    return;
  }
  logger.error(result.message, { exitCode: REPLICA_EXIT_CODES.gpuAssignment });
  writeTerminationLog(terminationLogPath, result.message);
  process.exit(REPLICA_EXIT_CODES.gpuAssignment);
}
