import { classifyFailure, type ReplicaFailure } from '../types.js';
import { failureHint, lastErrorLine } from '../failure-cause.js';
import type { Child, LocalContext } from './child.js';

/** A replica that ran this long counts as healthy again: the restart backoff starts over. */
const HEALTHY_AFTER_MS = 60_000;

/**
 * A child's process died on its own: report it (`failed`, classified from its log tail and exit code) and
 * `relaunch` it in place after an exponential backoff.
 */
export function onDeath(
  ctx: LocalContext,
  child: Child,
  death: { code: number | null; signal: NodeJS.Signals | null; launchedAt: number },
  relaunch: () => void,
): void {
  const { code, signal } = death;
  const failure = deathFailure(ctx, child, code, signal);
  // not one that never got ready within its budget
  const healthy = !child.outOfBudget && Date.now() - death.launchedAt > HEALTHY_AFTER_MS;
  child.deathsInRow = healthy ? 1 : child.deathsInRow + 1;
  child.replica.restarts += 1;
  child.replica.lastFailure = failure;
  child.replica.phase = 'pending';
  child.replica.url = null;
  child.replica.grpcAddress = null;
  const delay = Math.min(ctx.restartMaxMs, ctx.restartBaseMs * 2 ** (child.deathsInRow - 1));
  const hint = failureHint(failure.message);
  ctx.logger.warn('replica died; restarting', {
    replica: child.replica.id,
    code,
    signal,
    kind: failure.kind,
    error: failure.message,
    ...(hint ? { hint } : {}),
    restartInMs: delay,
  });
  ctx.emit({ type: 'failed', replica: { ...child.replica }, failure });
  ctx.emit({ type: 'changed' });
  child.restartTimer = setTimeout(() => {
    child.restartTimer = null;
    if (!child.stopping && !ctx.stopped()) relaunch();
  }, delay);
}

/** What the death was: the replica's own last error, the signal, and whether its warm-up budget ran out. */
function deathFailure(
  ctx: LocalContext,
  child: Child,
  code: number | null,
  signal: NodeJS.Signals | null,
): ReplicaFailure {
  const failure = classifyFailure(child.logTail.join('\n'), code);
  // the replica's own last error (e.g. the model file it could not load), not raw log lines
  failure.message = lastErrorLine(child.logTail) ?? failure.message;
  if (signal) failure.message = `killed by ${signal}; ${failure.message}`;
  if (child.outOfBudget) {
    // the model's budget, not the GPU's fault: never counted towards cordoning it (feedback.ts)
    if (failure.kind === 'crash') failure.kind = 'warmup-budget';
    const w = child.warmup;
    const progress = w ? ` (warm-up ${w.done}/${w.total} after ${Math.round(w.elapsedMs / 1000)} s)` : '';
    failure.message = `not ready within its warm-up budget of ${Math.round(ctx.warmupBudgetMs / 1000)} s${progress}; ${failure.message}`;
  }
  return failure;
}
