import { describe, expect, it } from 'vitest';
import { createLogger } from '../common/log.js';
import { memoryOrchestrator } from '../test/helpers/memory-orchestrator.js';
import { clientDemandFromView } from './demand/client-demand.js';
import { parseGpuSpec } from './inventory/gpu-spec.js';
import type { ManagedReplica } from './orchestrators/types.js';
import { planPlacement } from './placement/plan.js';
import { formatPlanTable, planToJson } from './plan-report.js';
import { createProfileStore } from './profiles/store.js';
import { createScheduler, type SchedulerModel } from './scheduler.js';
import { modelLabel, versionedNames } from './types.js';

// Two versions of one model side by side (a canary): planned, demanded and started apart.

const GiB = 1024 ** 3;

const version = (v: string, replicas: number, over: Partial<SchedulerModel> = {}): SchedulerModel => ({
  name: 'codetr',
  version: v,
  declaredBytes: 9 * GiB,
  manifest: `/models/codetr-v${v}`,
  minReplicas: replicas,
  maxReplicas: replicas,
  targetInFlightPerReplica: 2,
  pinVersion: true,
  ...over,
});

const running = (id: string, v: string, gpuIndex: number): ManagedReplica => ({
  id,
  model: 'codetr',
  version: v,
  node: 'local',
  gpuIndex,
  footprintBytes: 9 * GiB,
  url: null,
  phase: 'ready',
  product: 'virtual',
  startedAt: Date.now(),
  restarts: 0,
  lastFailure: null,
});

describe('model versions side by side', () => {
  it('labels: the plain name alone, name@version beside another version', () => {
    const versioned = versionedNames([
      { name: 'codetr', version: '1' },
      { name: 'codetr', version: '2' },
      { name: 'shapes', version: '1' },
    ]);
    expect(versioned).toEqual(['codetr']);
    expect(modelLabel('codetr', '2', versioned)).toBe('codetr@2');
    expect(modelLabel('shapes', '1', versioned)).toBe('shapes');
  });

  it('placement plans each version with its own count; replicas keep the plain name and their version', () => {
    const result = planPlacement({
      gpus: parseGpuSpec('4x24GiB'),
      models: [
        { name: 'codetr', version: '1', footprintBytes: 9 * GiB, minReplicas: 3, desiredReplicas: 3 },
        { name: 'codetr', version: '2', footprintBytes: 9 * GiB, minReplicas: 1, desiredReplicas: 1 },
      ],
      existing: [{ ...running('old', '0', 0) }, { ...running('keep-v2', '2', 3) }],
    });
    expect(result.versionedModels).toEqual(['codetr']);
    const byVersion = (v: string) => result.replicas.filter((r) => r.version === v);
    expect(byVersion('1')).toHaveLength(3);
    expect(byVersion('2')).toEqual([expect.objectContaining({ model: 'codetr', existingId: 'keep-v2' })]);
    expect(result.replicas.every((r) => r.model === 'codetr')).toBe(true);
    expect(result.removed).toEqual([
      {
        replica: expect.objectContaining({ id: 'old', model: 'codetr' }),
        reason: 'version 0 of codetr no longer configured',
      },
    ]);

    const json = planToJson(result, 0);
    expect(json.gpus.flatMap((g) => g.replicas).sort()).toEqual([
      'codetr@1',
      'codetr@1',
      'codetr@1',
      'codetr@2',
    ]);
    const table = formatPlanTable(json, null);
    expect(table).toMatch(/local\/3 .*codetr@2×1/);
    expect(table).toMatch(/replicas: codetr@1 3, codetr@2 1|replicas: codetr@2 1, codetr@1 3/);
  });

  it('a single version keeps the plain name, and a replica of an older version is replaced (rolling upgrade)', () => {
    const result = planPlacement({
      gpus: parseGpuSpec('1x24GiB'),
      models: [{ name: 'codetr', version: '2', footprintBytes: 9 * GiB, minReplicas: 1, desiredReplicas: 1 }],
      existing: [running('old', '1', 0)],
    });
    expect(result.versionedModels).toEqual([]);
    expect(result.removed.map((r) => r.reason)).toEqual(['version 1 replaced by 2']);
    expect(planToJson(result, 0).gpus[0]!.replicas).toEqual(['codetr']);
  });

  it('the scheduler starts both versions with their own manifest and a pinned version, and plans them apart', async () => {
    const mem = memoryOrchestrator();
    const scheduler = createScheduler({
      models: [version('1', 2), version('2', 1, { pinVersion: false })],
      inventory: () => Promise.resolve(parseGpuSpec('3x24GiB')),
      orchestrator: mem.orchestrator,
      profiles: createProfileStore(),
      logger: createLogger({}, () => undefined),
    });
    const view = await scheduler.reconcile();
    expect(
      mem.requests.map((r) => [r.model, r.version, r.manifest, r.pinVersion, `${r.node}/${r.gpuIndex}`]),
    ).toEqual([
      ['codetr', '1', '/models/codetr-v1', true, 'local/0'],
      ['codetr', '1', '/models/codetr-v1', true, 'local/1'],
      ['codetr', '2', '/models/codetr-v2', true, 'local/2'],
    ]);
    expect(view.actions.map((a) => `${a.type} ${a.model} ${a.reason}`)).toEqual([
      'create codetr@1 2 wanted; idle GPU',
      'create codetr@1 2 wanted; idle GPU',
      'create codetr@2 1 wanted; idle GPU',
    ]);
    expect(view.gpus!.map((g) => g.models)).toEqual([
      [{ model: 'codetr@1', replicas: 1 }],
      [{ model: 'codetr@1', replicas: 1 }],
      [{ model: 'codetr@2', replicas: 1 }],
    ]);
    const metrics = await scheduler.metrics.registry.metrics();
    expect(metrics).toMatch(/gpumux_scheduler_desired_replicas\{model="codetr@1"\} 2/);
    expect(metrics).toMatch(/gpumux_scheduler_desired_replicas\{model="codetr@2"\} 1/);
    expect(metrics).toMatch(/gpumux_scheduler_actions_total\{type="create",model="codetr@2"\} 1/);
    await scheduler.stop();
  });

  it("demand is per version: the gateway's queue for the model is split by the traffic weights", async () => {
    const mem = memoryOrchestrator();
    const scheduler = createScheduler({
      models: [
        version('1', 1, { minReplicas: 1, maxReplicas: 20, trafficWeight: 90 }),
        version('2', 1, { minReplicas: 1, maxReplicas: 20, trafficWeight: 10 }),
      ],
      inventory: () => Promise.resolve(parseGpuSpec('20x24GiB')),
      orchestrator: mem.orchestrator,
      profiles: createProfileStore(),
      demand: { intervalMs: 0, scaleUpCooldownMs: 0, scaleDownCooldownMs: 0 },
      // 40 queued for codetr at the gateway, as its operator view reports it (one row per version, the
      // model's queue on each): 36 for version 1, 4 for version 2.
      clientDemand: () =>
        Promise.resolve(
          clientDemandFromView({
            models: [
              { name: 'codetr', version: '1', queued: 40, p95Seconds: null },
              { name: 'codetr', version: '2', queued: 40, p95Seconds: null },
            ],
          }),
        ),
      logger: createLogger({}, () => undefined),
    });
    await scheduler.reconcile();
    const metrics = await scheduler.metrics.registry.metrics();
    expect(metrics).toMatch(/gpumux_scheduler_desired_replicas\{model="codetr@1"\} 18/);
    expect(metrics).toMatch(/gpumux_scheduler_desired_replicas\{model="codetr@2"\} 2/);
    await scheduler.stop();
  });

  it("without trafficWeight the queue is split as the gateway's own split says (splitShare in /v1/cluster)", async () => {
    const scheduler = createScheduler({
      models: [
        version('1', 1, { minReplicas: 1, maxReplicas: 20 }),
        version('2', 1, { minReplicas: 1, maxReplicas: 20 }),
      ],
      inventory: () => Promise.resolve(parseGpuSpec('20x24GiB')),
      orchestrator: memoryOrchestrator().orchestrator,
      profiles: createProfileStore(),
      demand: { intervalMs: 0, scaleUpCooldownMs: 0, scaleDownCooldownMs: 0 },
      clientDemand: () =>
        Promise.resolve(
          clientDemandFromView({
            models: [
              {
                name: 'codetr',
                version: '1',
                queued: 20,
                p95Seconds: null,
                splitWeight: 3,
                splitShare: 0.75,
              },
              {
                name: 'codetr',
                version: '2',
                queued: 20,
                p95Seconds: null,
                splitWeight: 1,
                splitShare: 0.25,
              },
            ],
          }),
        ),
      logger: createLogger({}, () => undefined),
    });
    await scheduler.reconcile();
    const metrics = await scheduler.metrics.registry.metrics();
    expect(metrics).toMatch(/gpumux_scheduler_desired_replicas\{model="codetr@1"\} 8/); // 15 queued / 2
    expect(metrics).toMatch(/gpumux_scheduler_desired_replicas\{model="codetr@2"\} 3/); // 5 queued / 2
    await scheduler.stop();
  });

  it("the gateway's per-version rows repeat the model's queue: counted once, not once per version", () => {
    const demand = clientDemandFromView({
      models: [
        { name: 'codetr', version: '1', queued: 7, p95Seconds: 0.4 },
        { name: 'codetr', version: '2', queued: 7, p95Seconds: 0.4 },
        { name: 'shapes', version: '1', queued: 0, p95Seconds: null },
      ],
    });
    expect(demand.get('codetr')).toEqual({ queued: 7, p95Seconds: 0.4 });
    expect(demand.get('codetr')).not.toHaveProperty('versionShares');
    expect(demand.get('shapes')).toEqual({ queued: 0, p95Seconds: null });
  });

  it('a running replica of each version is kept; one of a version no longer configured is drained', async () => {
    const mem = memoryOrchestrator({
      initial: [running('a', '1', 0), running('b', '2', 1), running('c', '3', 2)],
    });
    const scheduler = createScheduler({
      models: [version('1', 1), version('2', 1)],
      inventory: () => Promise.resolve(parseGpuSpec('3x24GiB')),
      orchestrator: mem.orchestrator,
      profiles: createProfileStore(),
      logger: createLogger({}, () => undefined),
    });
    const view = await scheduler.reconcile();
    expect(mem.requests).toEqual([]);
    expect(view.actions).toEqual([
      expect.objectContaining({
        type: 'drain',
        model: 'codetr@3',
        replicaId: 'c',
        reason: 'version 3 of codetr no longer configured',
      }),
    ]);
    await scheduler.stop();
  });
});
