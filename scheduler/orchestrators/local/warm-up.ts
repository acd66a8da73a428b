import type { ChildProcess } from 'node:child_process';
import { fetchReplicaStats } from '../replica-stats.js';
import { clearBudget, type Child, type LocalContext } from './child.js';

/**
 * A launch's warm-up: its budget starts with the process; the replica is polled on /v2/health/ready once its
 * URL is known, its progress (/v1/stats `warmup`) logged as it moves, and it is stopped when the budget runs out.
 */
export function startWarmupBudget(ctx: LocalContext, child: Child, proc: ChildProcess): void {
  child.outOfBudget = false;
  child.warmup = null;
  clearBudget(child);
  child.budgetTimer = setTimeout(() => budgetRanOut(ctx, child, proc), ctx.warmupBudgetMs);
  child.budgetTimer.unref();
}

/** Past its budget and still not ready: stop it (SIGTERM, SIGKILL after the grace); the exit reports it. */
function budgetRanOut(ctx: LocalContext, child: Child, proc: ChildProcess): void {
  child.budgetTimer = null;
  if (child.process !== proc || child.stopping || child.replica.phase !== 'starting') return;
  child.outOfBudget = true;
  ctx.logger.warn('replica not ready within its warm-up budget; stopping it', {
    replica: child.replica.id,
    budgetMs: ctx.warmupBudgetMs,
    ...(child.warmup ? { warmup: child.warmup } : {}),
  });
  proc.kill('SIGTERM');
  setTimeout(
    () => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL'),
    ctx.stopGraceMs,
  ).unref();
}

/** Polls the replica until it is ready (then `changed`), or its process is replaced, stopped, dead or out of budget. */
export async function waitReady(ctx: LocalContext, child: Child, proc: ChildProcess): Promise<void> {
  let progressAt = -Infinity;
  while (child.process === proc && !child.stopping && proc.exitCode === null && !child.outOfBudget) {
    const url = child.replica.url;
    if (url) {
      const ok = await fetch(`${url}/v2/health/ready`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => (r.body?.cancel(), r.status === 200),
        () => false,
      );
      if (ok && child.process === proc && child.replica.phase === 'starting') {
        clearBudget(child);
        child.replica.phase = 'ready';
        ctx.logger.info('replica ready', { replica: child.replica.id, url });
        ctx.emit({ type: 'changed' });
        return;
      }
      if (!ok && Date.now() - progressAt >= ctx.progressEveryMs) {
        progressAt = Date.now();
        await readProgress(ctx, child, url);
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The replica's warm-up progress, logged when it moved; nothing when stats are unavailable. */
async function readProgress(ctx: LocalContext, child: Child, url: string): Promise<void> {
  const warmup = (await fetchReplicaStats(url))?.warmup;
  if (!warmup) return;
  const before = child.warmup;
  child.warmup = warmup;
  if (before?.done === warmup.done && before.current?.step === warmup.current?.step) return;
  ctx.logger.info('replica warming', {
    replica: child.replica.id,
    done: warmup.done,
    total: warmup.total,
    ...(warmup.current ? { bucket: warmup.current.bucket, batch: warmup.current.batch } : {}),
    elapsedMs: warmup.elapsedMs,
    ...(warmup.etaMs !== null ? { etaMs: warmup.etaMs } : {}),
    budgetMs: ctx.warmupBudgetMs,
  });
}
