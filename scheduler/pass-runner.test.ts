import { describe, expect, it } from 'vitest';
import { createLogger } from '../common/log.js';
import type { PlanView } from '../common/plan-view.js';
import { memoryOrchestrator } from '../test/helpers/memory-orchestrator.js';
import { createSchedulerMetrics } from './metrics.js';
import type { OrchestratorEvent } from './orchestrators/types.js';
import { passRunner } from './pass-runner.js';

const view = (n: number): PlanView => ({ generatedAt: String(n) }) as unknown as PlanView;

function setup() {
  const mem = memoryOrchestrator();
  const events: OrchestratorEvent[] = [];
  let passes = 0;
  let release: () => void = () => undefined;
  const runner = passRunner({
    pass: async () => {
      const n = ++passes;
      await new Promise<void>((r) => (release = r));
      return view(n);
    },
    orchestrator: mem.orchestrator,
    onEvent: (e) => events.push(e),
    metrics: createSchedulerMetrics(),
    logger: createLogger({}, () => undefined),
  });
  return { mem, events, runner, passes: () => passes, release: () => release() };
}

async function until(fn: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !fn(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(fn()).toBe(true);
}

describe('passRunner', () => {
  it('never runs two passes at once: a caller during a pass gets that pass', async () => {
    const s = setup();
    expect(s.runner.plan()).toBeNull();
    const a = s.runner.reconcile();
    const b = s.runner.reconcile();
    expect(b).toBe(a);
    await until(() => s.passes() === 1);
    s.release();
    expect(await a).toEqual(view(1));
    expect(s.runner.plan()).toEqual(view(1));
    const c = s.runner.reconcile();
    expect(c).not.toBe(a);
    await until(() => s.passes() === 2);
    s.release();
    await c;
    await s.runner.stop();
  });

  it('hands orchestrator events on and reconciles soon after', async () => {
    const s = setup();
    s.mem.emit({ type: 'changed' });
    expect(s.events).toEqual([{ type: 'changed' }]);
    await until(() => s.passes() === 1);
    s.release();
    await until(() => s.runner.plan() !== null);
    await s.runner.stop();
    s.mem.emit({ type: 'changed' }); // unsubscribed
    expect(s.events).toHaveLength(1);
  });
});
