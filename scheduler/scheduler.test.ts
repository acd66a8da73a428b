import { describe, expect, it } from 'vitest';
import { createLogger } from '../common/log.js';
import { memoryOrchestrator } from '../test/helpers/memory-orchestrator.js';
import { parseGpuSpec } from './inventory/gpu-spec.js';
import { createProfileStore } from './profiles/store.js';
import { createScheduler, type SchedulerModel } from './scheduler.js';

const GiB = 1024 ** 3;
const PORT_1 = 'http://127.0.0.1:1';

const model = (name: string, declaredBytes: number, replicas: number): SchedulerModel => ({
  name,
  version: '1',
  declaredBytes,
  manifest: `/models/${name}`,
  minReplicas: replicas,
  maxReplicas: replicas,
  targetInFlightPerReplica: 2,
});

async function until(what: string, fn: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !fn(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!fn()) throw new Error(`timed out waiting for ${what}`);
}

describe('scheduler control loop (in-memory orchestrator)', () => {
  it('moves a running replica to make room for a waiting big model, without a capacity dip', async () => {
    // Two small replicas run, one per GPU; a 22 GiB model fits neither GPU until one small one moves.
    const mem = memoryOrchestrator({
      initial: [
        { id: 's0', model: 'small', gpuIndex: 0, footprintBytes: 4 * GiB, phase: 'ready' },
        { id: 's1', model: 'small', gpuIndex: 1, footprintBytes: 4 * GiB, phase: 'ready' },
      ],
      // port 1 refuses at once: no /v1/stats to read, but a URL means "drain before delete"
      url: PORT_1,
    });
    const scheduler = createScheduler({
      models: [model('big', 22 * GiB, 1), model('small', 4 * GiB, 2)],
      inventory: () => Promise.resolve(parseGpuSpec('2x24GiB')),
      orchestrator: mem.orchestrator,
      profiles: createProfileStore(),
      reserveBytes: 0,
      logger: createLogger({}, () => undefined),
    });
    const ready = (): number =>
      mem.orchestrator.replicas().filter((r) => r.model === 'small' && r.phase === 'ready').length;

    // 1. The copy of s0 goes to local/1 first; s0 keeps serving.
    const first = await scheduler.reconcile();
    expect(first.actions).toEqual([
      expect.objectContaining({ type: 'move', model: 'small', node: 'local', gpuIndex: 1, replicaId: 's0' }),
    ]);
    expect(first.unplaced).toEqual([
      expect.objectContaining({
        model: 'big',
        reason: 'waiting for room on local/0: moving small elsewhere',
      }),
    ]);
    expect(mem.calls).toEqual(['create r0 small@1']);

    // 2. While the copy starts, nothing drains and nothing more is created.
    await scheduler.reconcile();
    expect(mem.calls).toEqual(['create r0 small@1']);
    expect(ready()).toBe(2);

    // 3. The copy is ready: s0 is drained, then removed; two small replicas serve throughout.
    mem.set('r0', 'ready');
    await scheduler.reconcile();
    await until('s0 removed', () => !mem.has('s0'));
    expect(mem.calls).toEqual(['create r0 small@1', 'drain s0', 'remove s0']);
    expect(ready()).toBe(2);

    // 4. local/0 is free: the big model goes there.
    const last = await scheduler.reconcile();
    expect(mem.calls.at(-1)).toMatch(/^create r\d big@0$/);
    expect(last.unplaced).toEqual([]);
    const metrics = await scheduler.metrics.registry.metrics();
    expect(metrics).toMatch(/gpumux_scheduler_actions_total\{type="move",model="small"\} 1/);
    expect(metrics).toMatch(/gpumux_scheduler_desired_replicas\{model="big"\} 1/);
    await scheduler.stop();
  });

  it('creates one replica per GPU at a time, placed by the default policy on every GPU first', async () => {
    const mem = memoryOrchestrator({ url: PORT_1 });
    const scheduler = createScheduler({
      models: [model('codetr', 9830 * 1024 ** 2, 3)],
      inventory: () => Promise.resolve(parseGpuSpec('3x24564MiB')),
      orchestrator: mem.orchestrator,
      profiles: createProfileStore(),
      logger: createLogger({}, () => undefined),
    });
    const view = await scheduler.reconcile();
    expect(view.policy).toBe('throughput');
    expect(mem.calls).toEqual(['create r0 codetr@0', 'create r1 codetr@1', 'create r2 codetr@2']);
    expect(view.actions.map((a) => a.reason)).toEqual([
      '3 wanted; idle GPU',
      '3 wanted; idle GPU',
      '3 wanted; idle GPU',
    ]);
    expect(view.seedMemoryUtilization).toBeCloseTo(9830 / 24564, 5);
    await scheduler.stop();
  });
});
