import type { Logger } from '../common/log.js';
import type { PlanView } from '../common/plan-view.js';
import type { SchedulerMetrics } from './metrics.js';
import type { Orchestrator, OrchestratorEvent } from './orchestrators/types.js';

export interface Scheduler {
  /** One pass: inventory → observe → demand → plan → act (when leading). */
  reconcile(): Promise<PlanView>;
  /** The latest plan, null before the first pass. */
  plan(): PlanView | null;
  /** Reconciles every intervalMs and soon after the orchestrator reports a change. */
  start(intervalMs: number): void;
  stop(): Promise<void>;
  metrics: SchedulerMetrics;
}

/**
 * Runs passes: never two at once (a caller during a pass gets that pass's result), every intervalMs once
 * started, and soon (100 ms) after the orchestrator reports a change.
 */
export function passRunner(options: {
  pass: () => Promise<PlanView>;
  orchestrator: Orchestrator;
  onEvent: (event: OrchestratorEvent) => void;
  metrics: SchedulerMetrics;
  logger: Logger;
}): Scheduler {
  const { pass, orchestrator, onEvent, metrics, logger } = options;
  let current: PlanView | null = null;
  let running: Promise<PlanView> | null = null;
  let timer: NodeJS.Timeout | undefined;
  let soon: NodeJS.Timeout | undefined;
  let stopped = false;
  const unsubscribe = orchestrator.on((event) => {
    onEvent(event);
    if (!stopped && !soon)
      soon = setTimeout(() => ((soon = undefined), void scheduler.reconcile().catch(() => undefined)), 100);
  });
  const scheduler: Scheduler = {
    metrics,
    reconcile() {
      running ??= pass()
        .then((view) => (current = view))
        .finally(() => (running = null));
      return running;
    },
    plan: () => current,
    start(intervalMs) {
      const tick = (): void => {
        void scheduler
          .reconcile()
          .catch((err: unknown) => logger.error('reconcile failed', { err }))
          .finally(() => {
            if (!stopped) timer = setTimeout(tick, intervalMs);
          });
      };
      tick();
    },
    async stop() {
      stopped = true;
      unsubscribe();
      if (timer) clearTimeout(timer);
      if (soon) clearTimeout(soon);
      await running?.catch(() => undefined);
    },
  };
  return scheduler;
}
