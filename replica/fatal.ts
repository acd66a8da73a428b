import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { rootMessage } from './engine/cuda-oom.js';
import type { EngineFatal } from './engine/types.js';
import type { Logger } from '../common/log.js';
import { CUDA_OOM_MARKER, REPLICA_EXIT_CODES } from './exit-codes.js';

/** Why the process must exit now, and with which code (replica/exit-codes.ts). */
export interface ReplicaFatal {
  exitCode: number;
  message: string;
}

/** The exit code and the one line operators (and the local orchestrator) read for an engine's fatal error. */
export function fatalFor(info: EngineFatal, model: string, replicaId: string): ReplicaFatal {
  if (info.reason === 'memory-budget-exceeded') {
    // the error's own words name the budget and what was asked (the scheduler reads "needs at least N bytes")
    const exitCode = REPLICA_EXIT_CODES.memoryBudgetExceeded;
    const text = info.error instanceof Error ? info.error.message : String(info.error);
    return {
      exitCode,
      message: `${text}; model ${model} on ${info.device}, replica ${replicaId}; exiting with code ${exitCode}`,
    };
  }
  const [exitCode, what] =
    info.reason === 'cuda-out-of-memory'
      ? [REPLICA_EXIT_CODES.cudaOutOfMemory, CUDA_OOM_MARKER]
      : [REPLICA_EXIT_CODES.failed, 'session worker died'];
  return {
    exitCode,
    message:
      `${what}: model ${model} on ${info.device}, replica ${replicaId}; exiting with code ${exitCode}: ` +
      rootMessage(info.error),
  };
}

/** Writes the message where the kubelet reads it; a missing or read-only file is not an error. */
export function writeTerminationLog(file: string, message: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r+'); // never creates it: outside a pod there is nothing to write
    ftruncateSync(fd);
    writeSync(fd, message);
    return true;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

interface FatalLatchOptions {
  /** `model:version`, for the message. */
  name: string;
  replicaId: string;
  log: Logger;
  terminationLogPath: string;
  graceMs: number;
  /** Resolves when every admitted request was answered. */
  idle: () => Promise<void>;
}

/** The first fatal engine error: logged, written to the termination log, resolved once answers went out. */
export function createFatalLatch({
  name,
  replicaId,
  log,
  terminationLogPath,
  graceMs,
  idle,
}: FatalLatchOptions) {
  let fatalError: ReplicaFatal | null = null;
  let resolveFatal: (fatal: ReplicaFatal) => void = () => undefined;
  const fatal = new Promise<ReplicaFatal>((resolve) => (resolveFatal = resolve));
  const onFatal = (info: EngineFatal): void => {
    if (fatalError) return;
    const failure = fatalFor(info, name, replicaId);
    fatalError = failure;
    // the one line operators and the local orchestrator read; the termination log is what the kubelet keeps
    log.error(failure.message, { device: info.device, exitCode: failure.exitCode });
    writeTerminationLog(terminationLogPath, failure.message);
    // admitted requests already fail fast with 503 (the gateway retries elsewhere): let those answers go out
    const grace = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    void Promise.race([idle(), grace]).then(() => resolveFatal(failure));
  };
  return { fatal, onFatal, fatalError: (): ReplicaFatal | null => fatalError };
}
