import { parseListeningRecord } from '../../../replica/listening-line.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { formatBytes } from '../../../common/bytes.js';
import type { Logger } from '../../../common/log.js';
import { drainReplica } from '../drain.js';
import { fetchReplicaStats } from '../replica-stats.js';
import {
  classifyFailure,
  DEFAULT_WARMUP_BUDGET_MS,
  type ManagedReplica,
  type Orchestrator,
  type OrchestratorEvent,
  type ReplicaRequest,
} from '../types.js';
import { gpumuxLauncher, type Launcher } from './launcher.js';
import { replicaLaunch } from './replica-args.js';
import { failureHint, lastErrorLine } from '../failure-cause.js';
import type { WarmupStats } from '../../../replica/contract.js';

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
  /** How often a warming replica's /v1/stats is read for its progress (logged as it moves). Default 2 s. */
  progressEveryMs?: number;
}

interface Child {
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

/** Every child this process started; killed hard if the parent exits without stopping them. */
const allChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of allChildren) c.kill('SIGKILL');
  });
}

/**
 * Replicas as local child processes (`gpumux replica --port 0`): on virtual GPUs with the CPU execution
 * provider (`--virtual-gpu node:index:capacity`), on real GPUs with `CUDA_VISIBLE_DEVICES=<index>` and
 * `--gpu-index <index>` (replica-args.ts).
 * The URL comes from the replica's `listening` log line, readiness from /v2/health/ready; while it warms up,
 * its progress (/v1/stats `warmup`) is logged as it moves, and it is left alone for its whole warm-up budget
 * (`warmupBudgetMs`, the local counterpart of the chart's startup probe). A replica that
 * dies is restarted in place with exponential backoff and reported (`failed` event, log tail and exit code
 * classified as OOM — the replica's `CUDA out of memory` line, exit code 3 — or crash) so the scheduler can raise footprints or cordon the GPU. stop(): SIGTERM, then SIGKILL.
 */
export function createLocalOrchestrator(options: LocalOrchestratorOptions): Orchestrator {
  const {
    logger,
    launcher = gpumuxLauncher(),
    host = '127.0.0.1',
    restartBaseMs = 1000,
    restartMaxMs = 30_000,
    stopGraceMs = 10_000,
    replicaArgs = [],
    env = {},
    warmupBudgetMs = DEFAULT_WARMUP_BUDGET_MS,
    progressEveryMs = 2000,
  } = options;
  const children = new Map<string, Child>();
  const listeners = new Set<(e: OrchestratorEvent) => void>();
  let counter = 0;
  let stopped = false;
  installExitHook();

  const emit = (e: OrchestratorEvent): void => {
    for (const l of listeners) l(e);
  };
  const changed = (): void => emit({ type: 'changed' });

  function argsFor(child: Child): { args: string[]; env: NodeJS.ProcessEnv } {
    return replicaLaunch(child.request, {
      id: child.replica.id,
      host,
      replicaArgs,
      env: { ...process.env, ...env },
      warmupBudgetSeconds: Math.max(1, Math.ceil(warmupBudgetMs / 1000)),
    });
  }

  /** The replica's warm-up progress, logged when it moved; null when stats are unavailable. */
  async function readProgress(child: Child, url: string): Promise<void> {
    const warmup = (await fetchReplicaStats(url))?.warmup;
    if (!warmup) return;
    const before = child.warmup;
    child.warmup = warmup;
    if (before?.done === warmup.done && before.current?.step === warmup.current?.step) return;
    logger.info('replica warming', {
      replica: child.replica.id,
      done: warmup.done,
      total: warmup.total,
      ...(warmup.current ? { bucket: warmup.current.bucket, batch: warmup.current.batch } : {}),
      elapsedMs: warmup.elapsedMs,
      ...(warmup.etaMs !== null ? { etaMs: warmup.etaMs } : {}),
      budgetMs: warmupBudgetMs,
    });
  }

  /** Past its budget and still not ready: stop it (SIGTERM, SIGKILL after the grace); the exit reports it. */
  function budgetRanOut(child: Child, proc: ChildProcess): void {
    child.budgetTimer = null;
    if (child.process !== proc || child.stopping || child.replica.phase !== 'starting') return;
    child.outOfBudget = true;
    logger.warn('replica not ready within its warm-up budget; stopping it', {
      replica: child.replica.id,
      budgetMs: warmupBudgetMs,
      ...(child.warmup ? { warmup: child.warmup } : {}),
    });
    proc.kill('SIGTERM');
    setTimeout(
      () => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL'),
      stopGraceMs,
    ).unref();
  }

  async function waitReady(child: Child, proc: ChildProcess): Promise<void> {
    let progressAt = -Infinity;
    while (child.process === proc && !child.stopping && proc.exitCode === null && !child.outOfBudget) {
      const url = child.replica.url;
      if (url) {
        const ok = await fetch(`${url}/v2/health/ready`, { signal: AbortSignal.timeout(2000) }).then(
          (r) => (r.body?.cancel(), r.status === 200),
          () => false,
        );
        if (ok && child.process === proc && child.replica.phase === 'starting') {
          if (child.budgetTimer) clearTimeout(child.budgetTimer);
          child.budgetTimer = null;
          child.replica.phase = 'ready';
          logger.info('replica ready', { replica: child.replica.id, url });
          changed();
          return;
        }
        if (!ok && Date.now() - progressAt >= progressEveryMs) {
          progressAt = Date.now();
          await readProgress(child, url);
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  function launch(child: Child): void {
    const { args, env: childEnv } = argsFor(child);
    const proc = spawn(launcher.command, [...launcher.args, ...args], {
      // `ps` shows `gpumux --import tsx …/cli/main.ts replica --model …` rather than a bare `node`; the
      // arguments stay as they are (process.title would join them into one string)
      argv0: 'gpumux',
      cwd: launcher.cwd,
      env: childEnv,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    allChildren.add(proc);
    child.process = proc;
    child.replica.phase = 'starting';
    child.replica.url = null;
    child.replica.startedAt = Date.now();
    const launchedAt = Date.now();
    child.outOfBudget = false;
    child.warmup = null;
    if (child.budgetTimer) clearTimeout(child.budgetTimer);
    child.budgetTimer = setTimeout(() => budgetRanOut(child, proc), warmupBudgetMs);
    child.budgetTimer.unref();
    let buffered = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!line.trim()) continue;
        child.logTail.push(line);
        if (child.logTail.length > 30) child.logTail.shift();
        const listening = child.replica.url === null ? parseListeningRecord(line) : undefined;
        if (listening) {
          child.replica.url = listening.url;
          child.replica.grpcAddress = listening.grpc;
          changed();
          void waitReady(child, proc);
        }
      }
    });
    child.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        allChildren.delete(proc);
        if (child.process !== proc) return resolve();
        child.process = null;
        if (child.budgetTimer) clearTimeout(child.budgetTimer);
        child.budgetTimer = null;
        resolve();
        if (child.stopping || stopped) return;
        const failure = classifyFailure(child.logTail.join('\n'), code);
        // the replica's own last error (e.g. the model file it could not load), not raw log lines
        failure.message = lastErrorLine(child.logTail) ?? failure.message;
        if (signal) failure.message = `killed by ${signal}; ${failure.message}`;
        if (child.outOfBudget) {
          // the model's budget, not the GPU's fault: never counted towards cordoning it (feedback.ts)
          if (failure.kind === 'crash') failure.kind = 'warmup-budget';
          const w = child.warmup;
          const progress = w
            ? ` (warm-up ${w.done}/${w.total} after ${Math.round(w.elapsedMs / 1000)} s)`
            : '';
          failure.message = `not ready within its warm-up budget of ${Math.round(warmupBudgetMs / 1000)} s${progress}; ${failure.message}`;
        }
        // A replica that ran a minute counts as healthy again: the backoff starts over (not one that never
        // got ready within its budget).
        const healthy = !child.outOfBudget && Date.now() - launchedAt > 60_000;
        child.deathsInRow = healthy ? 1 : child.deathsInRow + 1;
        child.replica.restarts += 1;
        child.replica.lastFailure = failure;
        child.replica.phase = 'pending';
        child.replica.url = null;
        child.replica.grpcAddress = null;
        const delay = Math.min(restartMaxMs, restartBaseMs * 2 ** (child.deathsInRow - 1));
        const hint = failureHint(failure.message);
        logger.warn('replica died; restarting', {
          replica: child.replica.id,
          code,
          signal,
          kind: failure.kind,
          error: failure.message,
          ...(hint ? { hint } : {}),
          restartInMs: delay,
        });
        emit({ type: 'failed', replica: { ...child.replica }, failure });
        changed();
        child.restartTimer = setTimeout(() => {
          child.restartTimer = null;
          if (!child.stopping && !stopped) launch(child);
        }, delay);
      });
    });
    changed();
  }

  async function terminate(child: Child): Promise<void> {
    child.stopping = true;
    if (child.restartTimer) clearTimeout(child.restartTimer);
    if (child.budgetTimer) clearTimeout(child.budgetTimer);
    const proc = child.process;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), stopGraceMs);
      await child.exited;
      clearTimeout(timer);
    }
  }

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
      const child: Child = {
        replica: {
          id,
          model: request.model,
          version: request.version,
          node: request.node,
          gpuIndex: request.gpuIndex,
          footprintBytes: request.footprintBytes,
          url: null,
          phase: 'pending',
          product: request.product,
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
      children.set(id, child);
      logger.info('starting replica', {
        replica: id,
        model: request.model,
        gpu: `${request.node}/${request.gpuIndex}`,
        footprint: formatBytes(request.footprintBytes),
      });
      launch(child);
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
      await terminate(child);
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
      await Promise.all([...children.values()].map(terminate));
      children.clear();
    },
  };
}

/** The gateway's Discovery fed by an orchestrator: every replica with a URL (the gateway reads its state). */
export function orchestratorDiscovery(orchestrator: Orchestrator): {
  start(onChange: (endpoints: { id: string; url: string }[]) => void): Promise<void>;
  stop(): Promise<void>;
} {
  let off: (() => void) | undefined;
  return {
    start(onChange) {
      let last = '';
      const push = (): void => {
        const endpoints = orchestrator
          .replicas()
          .filter((r) => r.url && r.phase !== 'pending')
          .map((r) => ({ id: r.id, url: r.url! }))
          .sort((a, b) => (a.id < b.id ? -1 : 1));
        const key = JSON.stringify(endpoints);
        if (key === last) return;
        last = key;
        onChange(endpoints);
      };
      off = orchestrator.on(push);
      push();
      return Promise.resolve();
    },
    stop() {
      off?.();
      return Promise.resolve();
    },
  };
}
