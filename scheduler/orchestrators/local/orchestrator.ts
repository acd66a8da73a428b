import { formatBytes } from '../../../common/bytes.js';
import type { Logger } from '../../../common/log.js';
import { drainReplica } from '../drain.js';
import { DEFAULT_WARMUP_BUDGET_MS, type Orchestrator, type OrchestratorEvent } from '../types.js';
import { newChild, terminate, type Child, type LocalContext } from './child.js';
import { gpumuxLauncher, type Launcher } from './launcher.js';
import { launch } from './launch.js';

export interface LocalOrchestratorOptions {
  logger: Logger;
  launcher?: Launcher;
  host?: string;
  /** Restart backoff after a death: base × 2^(deaths in a row), at most max. */
  restartBaseMs?: number;
  restartMaxMs?: number;
  /** SIGTERM, then SIGKILL after this long. */
  stopGraceMs?: number;
  /** Extra replica flags (e.g. ['--threads', '1']). */
  replicaArgs?: string[];
  env?: Record<string, string | undefined>;
  /**
   * How long a replica may take from launch to ready (load + warm-up; Co-DETR on a CPU: minutes). Within it a
   * replica is never stopped, however slow; past it, it is stopped and reported failed (`not ready within its
   * warm-up budget`), as the Helm chart's startup probe would. Passed on as `--warmup-budget`. Default
   * DEFAULT_WARMUP_BUDGET_MS (15 min).
   */
  warmupBudgetMs?: number;
  /** GPU product per node (the inventory's; profiles are per product). Default 'virtual' (parseGpuSpec's). */
  productOf?: (node: string) => string;
  /** How often a warming replica's /v1/stats is read for its progress (logged as it moves). Default 2 s. */
  progressEveryMs?: number;
}

/**
 * Replicas as local child processes (`gpumux replica --port 0`): on virtual GPUs with the CPU execution
 * provider (`--virtual-gpu node:index:capacity`), on real GPUs with `CUDA_VISIBLE_DEVICES=<index>` and
 * `--gpu-index <index>` (replica-args.ts).
 * The URL comes from the replica's `listening` log line, readiness from /v2/health/ready; while it warms up,
 * its progress (/v1/stats `warmup`) is logged as it moves, and it is left alone for its whole warm-up budget
 * (`warmupBudgetMs`, the local counterpart of the chart's startup probe; warm-up.ts). A replica that dies
 * is restarted in place with exponential backoff and reported (`failed` event, log tail and exit code
 * classified as OOM — the replica's `CUDA out of memory` line, exit code 3 — or crash; death.ts) so the
 * scheduler can raise footprints or cordon the GPU. stop(): SIGTERM, then SIGKILL.
 */
export function createLocalOrchestrator(options: LocalOrchestratorOptions): Orchestrator {
  const { logger, productOf = () => 'virtual' } = options;
  const children = new Map<string, Child>();
  const listeners = new Set<(e: OrchestratorEvent) => void>();
  let counter = 0;
  let stopped = false;
  const ctx: LocalContext = {
    ...withDefaults(options),
    emit: (e) => {
      for (const l of listeners) l(e);
    },
    stopped: () => stopped,
  };
  const { launcher, replicaArgs, env, warmupBudgetMs, stopGraceMs } = ctx;
  const changed = (): void => ctx.emit({ type: 'changed' });

  return {
    kind: 'local',
    // what every replica's launch has besides its request: a change rolls the replicas (scheduler/rollout.ts)
    runtimeSpec: () => ({ launcher, replicaArgs, env, warmupBudgetMs }),
    async start() {},
    replicas: () => [...children.values()].map((c) => ({ ...c.replica })),
    create(request) {
      if (stopped) return Promise.reject(new Error('orchestrator stopped'));
      const model = request.pinVersion ? `${request.model}-v${request.version}` : request.model;
      const id = `${model}-${request.node}-${request.gpuIndex}-${++counter}`;
      const child = newChild(id, request, productOf(request.node));
      children.set(id, child);
      logger.info('starting replica', {
        replica: id,
        model: request.model,
        gpu: `${request.node}/${request.gpuIndex}`,
        footprint: formatBytes(request.footprintBytes),
      });
      launch(ctx, child);
      return Promise.resolve({ ...child.replica });
    },
    async drain(id, timeoutMs) {
      const child = children.get(id);
      if (!child) return;
      child.replica.phase = 'draining';
      child.replica.draining = true;
      changed();
      if (child.replica.url) await drainReplica(child.replica.url, { timeoutMs });
    },
    async remove(id) {
      const child = children.get(id);
      if (!child) return;
      await terminate(child, stopGraceMs);
      children.delete(id);
      logger.info('replica stopped', { replica: id });
      changed();
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      stopped = true;
      await Promise.all([...children.values()].map((c) => terminate(c, stopGraceMs)));
      children.clear();
    },
  };
}

/** The options with their defaults: the settings every launch reads. */
function withDefaults(options: LocalOrchestratorOptions): Omit<LocalContext, 'emit' | 'stopped'> {
  return {
    logger: options.logger,
    launcher: options.launcher ?? gpumuxLauncher(),
    host: options.host ?? '127.0.0.1',
    restartBaseMs: options.restartBaseMs ?? 1000,
    restartMaxMs: options.restartMaxMs ?? 30_000,
    stopGraceMs: options.stopGraceMs ?? 10_000,
    replicaArgs: options.replicaArgs ?? [],
    env: options.env ?? {},
    warmupBudgetMs: options.warmupBudgetMs ?? DEFAULT_WARMUP_BUDGET_MS,
    progressEveryMs: options.progressEveryMs ?? 2000,
  };
}
