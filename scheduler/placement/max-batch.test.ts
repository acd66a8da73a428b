import { describe, expect, it } from 'vitest';
import { parseGpuSpec } from '../inventory/gpu-spec.js';
import type { ModelPlan } from '../types.js';
import { chooseMaxBatch, chooseMaxBatches, formatTradeoff, withChosenFootprints } from './max-batch.js';

const MiB = 2 ** 20;
const gpus = parseGpuSpec('10x24564MiB', { product: 'RTX 4090', virtual: false });
const codetr = (desiredReplicas = Infinity): ModelPlan => ({
  name: 'codetr',
  version: '1',
  footprintBytes: 0,
  minReplicas: 0,
  desiredReplicas,
});
const table = (b1: number, b2: number) => [
  { maxBatch: 1, footprintBytes: b1 * MiB },
  { maxBatch: 2, footprintBytes: b2 * MiB },
];

describe('chooseMaxBatch', () => {
  const cases = [
    {
      name: 'as many as fit: batch 1 packs two per GPU, batch 2 one: keeps the packing',
      model: codetr(),
      sizes: table(9830, 17000),
      chosen: 1,
      replicas: [20, 10],
    },
    {
      name: 'ten replicas asked on ten GPUs: batch 2 keeps them',
      model: codetr(10),
      sizes: table(9830, 17000),
      chosen: 2,
      replicas: [10, 10],
    },
    {
      name: '--max-per-gpu 1: batch 2 costs nothing',
      model: codetr(),
      maxPerGpu: 1,
      sizes: table(9830, 17000),
      chosen: 2,
      replicas: [10, 10],
    },
    {
      name: 'batch 2 small enough to fit twice: batch 2',
      model: codetr(),
      sizes: table(9830, 11500),
      chosen: 2,
      replicas: [20, 20],
    },
    {
      name: 'told otherwise (--max-batch 2): batch 2 at one per GPU',
      model: codetr(),
      sizes: table(9830, 17000),
      forced: 2,
      chosen: 2,
      replicas: [20, 10],
    },
  ];
  it.each(cases)('$name', ({ model, sizes, maxPerGpu, forced, chosen, replicas }) => {
    const input = { gpus, models: [model], reserveBytes: 512 * MiB, maxReplicasPerGpu: maxPerGpu ?? 0 };
    const choice = chooseMaxBatch(input, 'codetr', sizes, forced);
    expect(choice.chosen).toBe(chosen);
    expect(choice.rows.map((r) => r.replicas)).toEqual(replicas);
    expect(choice.rows.map((r) => r.framesInFlight)).toEqual(replicas.map((n, i) => n * (i + 1)));
  });

  it('refuses a max batch the manifest has no footprint for', () => {
    const input = { gpus, models: [codetr()], reserveBytes: 0 };
    expect(() => chooseMaxBatch(input, 'codetr', table(9830, 17000), 4)).toThrow(
      /no footprint declared for max batch 4/,
    );
  });

  it('chooseMaxBatches returns the choice whose footprint goes into the plan input, and the table marks it', () => {
    const models = [codetr()];
    const [choice] = chooseMaxBatches({
      candidates: [{ key: 'codetr', model: 'codetr', table: table(9830, 17000) }],
      inputFor: (chosen) => ({ gpus, models: withChosenFootprints(models, chosen), reserveBytes: 512 * MiB }),
    });
    expect(withChosenFootprints(models, new Map([['codetr', choice!]]))[0]!.footprintBytes).toBe(9830 * MiB);
    const text = formatTradeoff(choice!);
    expect(text).toMatch(/^\* 1\s+9\.6 GiB\s+20\s+2\s+20/m);
    expect(text).toContain('--max-batch 1');
  });

  it('--max-batch without any model that declares a table is an error, not ignored', () => {
    expect(() =>
      chooseMaxBatches({ candidates: [], inputFor: () => ({ gpus, models: [codetr()] }), forced: 2 }),
    ).toThrow(/memory.byMaxBatch/);
  });
});
