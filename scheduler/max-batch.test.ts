import { describe, expect, it } from 'vitest';
import { createLogger } from '../common/log.js';
import { memoryOrchestrator } from '../test/helpers/memory-orchestrator.js';
import { loadModel } from '../models/manifest/load.js';
import { parseGpuSpec } from './inventory/gpu-spec.js';
import { modelSet, type BatchChoices } from './model-set.js';
import { chooseMaxBatches } from './placement/max-batch.js';
import { schedulerMemory } from './models.js';
import { createProfileStore, type ProfileStore } from './profiles/store.js';
import { createScheduler, type SchedulerModel } from './scheduler.js';

/**
 * The scheduler reads memory.byMaxBatch: before any replica has measured itself, each replica counts the
 * footprint declared for the max batch it will run with — the one placement/max-batch.ts chooses for the packing
 * asked for, or the user's — and is started with that `--max-batch`; a measured footprint replaces it.
 */

const MiB = 1024 ** 2;
const PRODUCT = 'NVIDIA GeForce RTX 4090';
const { manifest: codetr } = await loadModel('models/codetr');
const AT_1 = codetr.memory.byMaxBatch![0]!.declaredBytes; // 9830 MiB, the seed
const AT_2 = codetr.memory.byMaxBatch![1]!.declaredBytes; // 18430 MiB, an estimate

function codetrModel(count: { min: number; max: number }, maxBatch?: number): SchedulerModel {
  return {
    name: 'codetr',
    version: '1',
    ...schedulerMemory(codetr, maxBatch),
    manifest: 'models/codetr',
    minReplicas: count.min,
    maxReplicas: count.max,
    initialReplicas: count.min,
    targetInFlightPerReplica: 2,
  };
}

async function firstPass(model: SchedulerModel, profiles: ProfileStore = createProfileStore()) {
  const { orchestrator, requests } = memoryOrchestrator();
  const logs: Record<string, unknown>[] = [];
  const scheduler = createScheduler({
    models: [model],
    inventory: () => Promise.resolve(parseGpuSpec('10x24564MiB', { product: PRODUCT, virtual: false })),
    orchestrator,
    profiles,
    reserveBytes: 512 * MiB,
    logger: createLogger({}, (line) => logs.push(JSON.parse(line) as Record<string, unknown>)),
  });
  await scheduler.reconcile();
  await scheduler.stop();
  return { requests, chosen: logs.find((l) => l.msg === 'max batch chosen') };
}

describe('schedulerMemory', () => {
  it('without a max batch: the table to choose from, the manifest max batch figure until then', () => {
    expect(schedulerMemory(codetr)).toEqual({
      declaredBytes: AT_1,
      footprintByMaxBatch: [
        { maxBatch: 1, footprintBytes: AT_1 },
        { maxBatch: 2, footprintBytes: AT_2 },
      ],
    });
  });

  it("with the user's max batch: that entry, and no choice left", () => {
    expect(schedulerMemory(codetr, 2)).toEqual({ declaredBytes: AT_2, maxBatch: 2 });
  });
});

describe('the scheduler counts memory.byMaxBatch[the max batch its replicas run with]', () => {
  it('ten replicas asked for on ten 24 GiB GPUs: max batch 2 keeps them, each counted at the batch-2 figure', async () => {
    const { requests, chosen } = await firstPass(codetrModel({ min: 10, max: 10 }));
    expect(chosen).toMatchObject({ model: 'codetr', maxBatch: 2, declaredBytes: AT_2 });
    expect(requests).toHaveLength(10);
    for (const r of requests) expect(r).toMatchObject({ maxBatch: 2, footprintBytes: AT_2 });
  });

  it('as many as fit: max batch 1 (twenty replicas) over max batch 2 (ten)', async () => {
    // demand starts at one replica, but the packing asked for is up to maxReplicas
    const { requests, chosen } = await firstPass(codetrModel({ min: 1, max: 64 }));
    expect(chosen).toMatchObject({ maxBatch: 1, declaredBytes: AT_1 });
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ maxBatch: 1, footprintBytes: AT_1 });
  });

  it("the user's max batch overrides the choice", async () => {
    const { requests, chosen } = await firstPass(codetrModel({ min: 20, max: 20 }, 2));
    expect(chosen).toBeUndefined();
    expect(requests).toHaveLength(10); // one per GPU: two batch-2 replicas do not fit on 24 GiB
    for (const r of requests) expect(r).toMatchObject({ maxBatch: 2, footprintBytes: AT_2 });
  });

  it('a measured footprint replaces the declared one', async () => {
    const profiles = createProfileStore({ margin: 0 });
    profiles.observe('codetr', PRODUCT, 11_000 * MiB);
    const { requests } = await firstPass(codetrModel({ min: 10, max: 10 }), profiles);
    for (const r of requests) expect(r).toMatchObject({ maxBatch: 2, footprintBytes: 11_000 * MiB });
  });

  it('a model without memory.byMaxBatch keeps the manifest max batch and declaredBytes', async () => {
    const { manifest: shapes } = await loadModel('models/shapes');
    const { requests, chosen } = await firstPass({
      name: 'shapes',
      version: '1',
      ...schedulerMemory(shapes),
      manifest: 'models/shapes',
      minReplicas: 1,
      maxReplicas: 1,
      targetInFlightPerReplica: 2,
    });
    expect(chosen).toBeUndefined();
    expect(requests[0]).toMatchObject({ footprintBytes: shapes.memory.declaredBytes });
    expect(requests[0]!.maxBatch).toBeUndefined();
  });
});

describe('chooseMaxBatches for the scheduler (ModelSet.maxBatchesToChoose)', () => {
  const gpus = parseGpuSpec('10x24564MiB', { product: PRODUCT, virtual: false });
  const inputOf = (models: SchedulerModel[]) => (choices: BatchChoices) => {
    seen.push(new Map(choices));
    const set = modelSet(models);
    return {
      gpus,
      models: set.models.map((m) => ({
        name: m.name,
        version: m.version,
        footprintBytes: set.declaredBytes(m, choices),
        minReplicas: m.minReplicas,
        desiredReplicas: m.maxReplicas,
      })),
      existing: [],
      reserveBytes: 512 * MiB,
    };
  };
  let seen: BatchChoices[] = [];
  const quiet = createLogger({}, () => undefined);

  it('returns a choice per model with a table and no max batch, each planned with the choices before it', () => {
    seen = [];
    const models = [
      { ...codetrModel({ min: 10, max: 10 }), version: '1' },
      { ...codetrModel({ min: 10, max: 10 }), version: '2' },
      codetrModel({ min: 1, max: 1 }, 1),
    ];
    const set = modelSet(models);
    const candidates = set.maxBatchesToChoose(new Map());
    const fresh = chooseMaxBatches({ candidates, inputFor: inputOf(models), logger: quiet });
    expect(fresh.map((c) => c.key)).toEqual(['codetr@1', 'codetr@2']);
    expect(fresh[0]).toMatchObject({
      maxBatch: expect.any(Number),
      declaredBytes: expect.any(Number),
    });
    expect(seen.map((c) => [...c.keys()])).toEqual([[], ['codetr@1']]);
    expect(models[0]!.maxBatch).toBeUndefined(); // the configuration is left alone
  });

  it('chooses nothing already chosen', () => {
    seen = [];
    const models = [codetrModel({ min: 10, max: 10 })];
    const chosen = new Map([['codetr', { maxBatch: 1, declaredBytes: AT_1 }]]);
    const candidates = modelSet(models).maxBatchesToChoose(chosen);
    const fresh = chooseMaxBatches({ candidates, chosen, inputFor: inputOf(models), logger: quiet });
    expect(fresh).toHaveLength(0);
    expect(seen).toEqual([]);
  });
});
