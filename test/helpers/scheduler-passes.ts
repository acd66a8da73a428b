import type { SchedulerMetrics } from '../../scheduler/metrics.js';

/**
 * How many scheduler passes have ended: the count of `gpumux_scheduler_reconcile_duration_seconds`, observed
 * as each pass ends (after it acted). Tests that assert "nothing happened" wait for passes with this rather
 * than sleep.
 */
export async function passesEnded(metrics: Pick<SchedulerMetrics, 'reconcileSeconds'>): Promise<number> {
  const { values } = await metrics.reconcileSeconds.get();
  return values.find((v) => v.metricName === 'gpumux_scheduler_reconcile_duration_seconds_count')?.value ?? 0;
}

/** The same count, from a running scheduler's `/metrics` (a `gpumux up` child process). */
export async function passesEndedAt(schedulerUrl: string): Promise<number> {
  const text = await (await fetch(`${schedulerUrl}/metrics`)).text();
  const m = /^gpumux_scheduler_reconcile_duration_seconds_count(?:\{\})? (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * Resolves once `more` passes have ended after the call: at least `more - 1` whole passes began after it, so
 * what they would have done is done. Throws after `timeoutMs`.
 */
export async function afterPasses(count: () => Promise<number>, more = 2, timeoutMs = 30_000): Promise<void> {
  const target = (await count()) + more;
  const deadline = Date.now() + timeoutMs;
  while ((await count()) < target) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${more} scheduler passes`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
