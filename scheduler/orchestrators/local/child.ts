import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../../../common/log.js';
import type { WarmupStats } from '../../../replica/contract.js';
import type { ManagedReplica, OrchestratorEvent, ReplicaRequest } from '../types.js';
import type { Launcher } from './launcher.js';

/** One replica the local orchestrator runs: its record, its request, and its current process (if any). */
export interface Child {
  replica: ManagedReplica;
  request: ReplicaRequest;
  process: ChildProcess | null;
  logTail: string[];
  stopping: boolean;
  restartTimer: NodeJS.Timeout | null;
  deathsInRow: number;
  exited: Promise<void>;
  /** Stops the current launch when its warm-up budget runs out; cleared once ready or exited. */
  budgetTimer: NodeJS.Timeout | null;
  /** Set when the budget ran out, so the death is reported as that. */
  outOfBudget: boolean;
  /** The replica's last reported warm-up progress (its /v1/stats `warmup`). */
  warmup: WarmupStats | null;
}

/** The local orchestrator's settings (its options with their defaults) and its way to tell listeners. */
export interface LocalContext {
  logger: Logger;
  launcher: Launcher;
  host: string;
  restartBaseMs: number;
  restartMaxMs: number;
  stopGraceMs: number;
  replicaArgs: string[];
  env: Record<string, string | undefined>;
  warmupBudgetMs: number;
  progressEveryMs: number;
  emit(event: OrchestratorEvent): void;
  /** True once the orchestrator is stopped: nothing restarts. */
  stopped(): boolean;
}

/** A new child for this request, not launched yet. */
export function newChild(id: string, request: ReplicaRequest, product: string): Child {
  return {
    replica: {
      id,
      model: request.model,
      version: request.version,
      node: request.node,
      gpuIndex: request.gpuIndex,
      footprintBytes: request.footprintBytes,
      url: null,
      phase: 'pending',
      product,
      startedAt: Date.now(),
      restarts: 0,
      lastFailure: null,
      ...(request.specHash !== undefined ? { specHash: request.specHash } : {}),
    },
    request,
    process: null,
    logTail: [],
    stopping: false,
    restartTimer: null,
    deathsInRow: 0,
    exited: Promise.resolve(),
    budgetTimer: null,
    outOfBudget: false,
    warmup: null,
  };
}

/** Stops the child's warm-up budget timer, if one runs. */
export function clearBudget(child: Child): void {
  if (child.budgetTimer) clearTimeout(child.budgetTimer);
  child.budgetTimer = null;
}

/** Stops the child for good: no restart, SIGTERM, then SIGKILL after the grace; resolves once it exited. */
export async function terminate(child: Child, stopGraceMs: number): Promise<void> {
  child.stopping = true;
  if (child.restartTimer) clearTimeout(child.restartTimer);
  clearBudget(child);
  const proc = child.process;
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), stopGraceMs);
    await child.exited;
    clearTimeout(timer);
  }
}

/** Every child process this process started; killed hard if the parent exits without stopping them. */
const allProcesses = new Set<ChildProcess>();
let exitHookInstalled = false;

export function trackProcess(proc: ChildProcess): void {
  allProcesses.add(proc);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of allProcesses) c.kill('SIGKILL');
  });
}

export function untrackProcess(proc: ChildProcess): void {
  allProcesses.delete(proc);
}
