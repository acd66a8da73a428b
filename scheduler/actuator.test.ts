import { describe, expect, it } from 'vitest';
import { createLogger } from '../common/log.js';
import { memoryOrchestrator } from '../test/helpers/memory-orchestrator.js';
import { createActuator } from './actuator.js';
import { parseGpuSpec } from './inventory/gpu-spec.js';
import { createSchedulerMetrics } from './metrics.js';
import { modelSet, type ChosenBatch, type SchedulerModel } from './model-set.js';
import type { PlacementResult } from './placement/plan.js';
import type { PlacedReplica } from './types.js';

const GiB = 1024 ** 3;
const GPUS = parseGpuSpec('2x24GiB');

const model = (over: Partial<SchedulerModel> = {}): SchedulerModel => ({
  name: 'small',
  version: '1',
  declaredBytes: 4 * GiB,
  manifest: '/models/small',
  minReplicas: 1,
  maxReplicas: 4,
  targetInFlightPerReplica: 2,
  ...over,
});

const placed = (gpuIndex: number, over: Partial<PlacedReplica> = {}): PlacedReplica => ({
  model: 'small',
  version: '1',
  node: 'local',
  gpuIndex,
  footprintBytes: 4 * GiB,
  existingId: null,
  ...over,
});

const plan = (over: Partial<PlacementResult>): PlacementResult => ({
  policy: 'throughput',
  usage: [],
  replicas: [],
  removed: [],
  moves: [],
  unplaced: [],
  memoryUtilization: 0,
  versionedModels: [],
  ...over,
});

function setup(
  initial: Parameters<typeof memoryOrchestrator>[0] = {},
  models = [model()],
  now = () => Date.now(),
) {
  const mem = memoryOrchestrator(initial);
  const batches = new Map<string, ChosenBatch>();
  const metrics = createSchedulerMetrics();
  const actuator = createActuator({
    orchestrator: mem.orchestrator,
    set: modelSet(models),
    batches,
    metrics,
    logger: createLogger({}, () => undefined),
    now,
    drainTimeoutMs: 1000,
    readyTimeoutMs: 60_000,
  });
  return { mem, batches, metrics, actuator };
}

async function settled(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

describe('actuator', () => {
  it('creates one starting replica per GPU at a time', async () => {
    const { mem, actuator } = setup();
    await actuator.act(plan({ replicas: [placed(0), placed(0), placed(1)] }), [], GPUS);
    expect(mem.calls).toEqual(['create r0 small@0', 'create r1 small@1']);
    // Next pass: both GPUs still have a pending replica, nothing more starts.
    const replicas = mem.orchestrator.replicas();
    await actuator.act(plan({ replicas: [placed(0), placed(1)] }), replicas, GPUS);
    expect(mem.calls).toHaveLength(2);
    // Once r0 is ready, its GPU takes the next one.
    mem.set('r0', 'ready');
    await actuator.act(plan({ replicas: [placed(0)] }), mem.orchestrator.replicas(), GPUS);
    expect(mem.calls.at(-1)).toBe('create r2 small@0');
  });

  it('a replica starting for longer than readyTimeoutMs no longer blocks its GPU', async () => {
    let t = 1_000_000;
    const { mem, actuator } = setup(
      { initial: [{ id: 'slow', model: 'small', phase: 'starting', startedAt: t }] },
      [model()],
      () => t,
    );
    await actuator.act(plan({ replicas: [placed(0)] }), mem.orchestrator.replicas(), GPUS);
    expect(mem.calls).toEqual([]);
    t += 60_000;
    await actuator.act(plan({ replicas: [placed(0)] }), mem.orchestrator.replicas(), GPUS);
    expect(mem.calls).toEqual(['create r0 small@0']);
  });

  it("pairs a move's copy with the original until either is gone", async () => {
    const { mem, actuator, metrics } = setup({
      initial: [{ id: 's0', model: 'small', gpuIndex: 0, phase: 'ready' }],
    });
    await actuator.act(
      plan({ replicas: [placed(1, { moveOf: 's0', reason: 'make room' })] }),
      mem.orchestrator.replicas(),
      GPUS,
    );
    expect(mem.calls).toEqual(['create r0 small@1']);
    const existing = actuator.existing(mem.orchestrator.replicas());
    expect(existing.find((r) => r.id === 'r0')).toMatchObject({ replaces: 's0', ready: false });
    expect(existing.find((r) => r.id === 's0')).toMatchObject({
      replaces: null,
      ready: true,
      draining: false,
    });
    await mem.orchestrator.remove('s0');
    expect(actuator.existing(mem.orchestrator.replicas())).toEqual([
      expect.objectContaining({ id: 'r0', replaces: null }),
    ]);
    expect(await metrics.registry.metrics()).toMatch(/actions_total\{type="move",model="small"\} 1/);
  });

  it('deletes failed replicas at once; drains a removed one that serves, counted as draining meanwhile', async () => {
    const { mem, actuator } = setup({
      initial: [
        { id: 'dead', model: 'small', phase: 'failed', url: 'http://127.0.0.1:1' },
        { id: 'extra', model: 'small', gpuIndex: 1, phase: 'ready', url: 'http://127.0.0.1:1' },
        { id: 'quiet', model: 'small', gpuIndex: 1, phase: 'ready', url: null },
      ],
    });
    // the drain lasts until the test lets it end
    let drained = (): void => undefined;
    const drain = mem.orchestrator.drain.bind(mem.orchestrator);
    mem.orchestrator.drain = (id, timeoutMs) =>
      drain(id, timeoutMs).then(() => new Promise<void>((r) => (drained = r)));
    const replicas = mem.orchestrator.replicas();
    const [, extra, quiet] = replicas;
    const removed = [
      { replica: extra!, reason: 'surplus' },
      { replica: quiet!, reason: 'surplus' },
    ];
    await actuator.act(plan({ removed }), replicas, GPUS);
    await settled();
    expect(mem.calls).toEqual(['remove dead', 'drain extra', 'remove quiet']);
    // while it drains it still holds memory: counted as draining though the pass saw it ready; the failed
    // one is left out, the quiet one is removed already
    expect(actuator.existing(replicas).map((r) => [r.id, r.draining])).toEqual([
      ['extra', true],
      ['quiet', false],
    ]);
    // a second pass during the removal does not start it again
    await actuator.act(plan({ removed: removed.slice(0, 1) }), mem.orchestrator.replicas(), GPUS);
    drained();
    await settled();
    expect(mem.calls).toEqual(['remove dead', 'drain extra', 'remove quiet', 'remove extra']);
    expect(mem.orchestrator.replicas()).toEqual([]);
  });

  it("asks for the model's manifest, a chosen max batch, and a pinned version beside another version", async () => {
    const models = [model({ version: '1', onnx: '/w/a.onnx' }), model({ version: '2' })];
    const { mem, actuator, batches } = setup({}, models);
    batches.set('small@1', { maxBatch: 2, declaredBytes: 8 * GiB });
    await actuator.act(
      plan({ replicas: [placed(0, { version: '1' }), placed(1, { version: '2' })] }),
      [],
      GPUS,
    );
    expect(mem.requests).toEqual([
      expect.objectContaining({
        version: '1',
        manifest: '/models/small',
        onnx: '/w/a.onnx',
        pinVersion: true,
        maxBatch: 2,
        gpuMemoryBytes: 24 * GiB,
        virtual: true,
      }),
      expect.objectContaining({ version: '2', pinVersion: true }),
    ]);
    expect(mem.requests[1]).not.toHaveProperty('maxBatch');
    // the orchestrator reads the GPU product from the inventory, not from the request
    expect(mem.requests[0]).not.toHaveProperty('product');
  });
});
