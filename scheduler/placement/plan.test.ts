import { describe, expect, it } from 'vitest';
import { parseGpuSpec } from '../inventory/gpu-spec.js';
import { createProfileStore } from '../profiles/store.js';
import type { ExistingReplica } from '../types.js';
import { model } from '../../test/scheduler/placement-fixtures.js';
import { overCommitted, planPlacement, type PlacementInput } from './plan.js';
import { POLICIES } from './policy.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
/** `node/index:model,model` per GPU, for compact expectations. */
const layout = (input: PlacementInput): string[] => {
  const r = planPlacement(input);
  return r.usage.map(
    (u) =>
      `${u.gpu.node}/${u.gpu.index}:${r.replicas
        .filter((x) => x.node === u.gpu.node && x.gpuIndex === u.gpu.index)
        .map((x) => x.model)
        .sort()
        .join(',')}`,
  );
};

describe('planPlacement', () => {
  it('packs Co-DETR two per RTX 4090 (the done-when check: ≥ 0.79, nothing over capacity)', () => {
    const gpus = parseGpuSpec('10x24564MiB');
    const result = planPlacement({
      gpus,
      models: [model('codetr', 9830 * MiB, Infinity)],
      reserveBytes: 512 * MiB,
    });
    expect(result.replicas).toHaveLength(20);
    expect(result.memoryUtilization).toBeGreaterThanOrEqual(0.79);
    expect(result.memoryUtilization).toBeCloseTo(19660 / 24564, 6);
    expect(overCommitted(result, 512 * MiB)).toEqual([]);
  });

  it.each<[string, PlacementInput, string[]]>([
    [
      'binpack fills the first GPU before the next',
      { gpus: parseGpuSpec('3x8GiB'), models: [model('a', 2 * GiB, 3)], policy: 'binpack' },
      ['local/0:a,a,a', 'local/1:', 'local/2:'],
    ],
    [
      'spread puts one per GPU',
      { gpus: parseGpuSpec('3x8GiB'), models: [model('a', 2 * GiB, 3)], policy: 'spread' },
      ['local/0:a', 'local/1:a', 'local/2:a'],
    ],
    [
      'the reserve keeps the last slot free',
      { gpus: parseGpuSpec('1x8GiB'), models: [model('a', 2 * GiB, 4)], reserveBytes: 512 * MiB },
      ['local/0:a,a,a'],
    ],
    [
      'a cap of replicas per GPU pushes packing onto the next GPU',
      {
        gpus: parseGpuSpec('2x8GiB'),
        models: [model('a', 1 * GiB, 3)],
        maxReplicasPerGpu: 2,
        policy: 'binpack',
      },
      ['local/0:a,a', 'local/1:a'],
    ],
    [
      'big models go first so small ones fill the gaps (binpack)',
      {
        gpus: parseGpuSpec('2x24GiB'),
        models: [model('small', 4 * GiB, 4), model('big', 16 * GiB, 2)],
        policy: 'binpack',
      },
      ['local/0:big,small,small', 'local/1:big,small,small'],
    ],
    [
      'models share scarce memory in rounds, minimums first',
      {
        gpus: parseGpuSpec('1x10GiB'),
        models: [model('a', 3 * GiB, 3, 1), model('b', 3 * GiB, 3, 1)],
        policy: 'binpack',
      },
      ['local/0:a,a,b'],
    ],
    [
      'per-node GPU specs, different sizes',
      { gpus: parseGpuSpec('n-b:1x16GiB,n-a:1x8GiB'), models: [model('a', 6 * GiB, 3)], policy: 'binpack' },
      ['n-a/0:a', 'n-b/0:a,a'],
    ],
    [
      'cordoned GPUs take nothing new',
      {
        gpus: parseGpuSpec('2x8GiB'),
        models: [model('a', 2 * GiB, 2)],
        cordoned: ['local/0'],
        policy: 'binpack',
      },
      ['local/0:', 'local/1:a,a'],
    ],
  ])('%s', (_name, input, expected) => {
    expect(layout(input)).toEqual(expected);
    const result = planPlacement(input);
    expect(overCommitted(result, input.reserveBytes ?? 0)).toEqual([]);
  });

  it('never exceeds capacity − reserve over many random clusters and is deterministic', () => {
    let seed = 42;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let trial = 0; trial < 200; trial++) {
      const gpus = parseGpuSpec(
        `a:${1 + Math.floor(rand() * 4)}x${8 + Math.floor(rand() * 40)}GiB,b:${1 + Math.floor(rand() * 4)}x24GiB`,
      );
      const models = [0, 1, 2].map((i) =>
        model(
          `m${i}`,
          Math.floor((0.5 + rand() * 12) * GiB),
          rand() < 0.3 ? Infinity : Math.floor(rand() * 8),
          Math.floor(rand() * 2),
        ),
      );
      const reserveBytes = Math.floor(rand() * 1024) * MiB;
      const policy = POLICIES[Math.floor(rand() * POLICIES.length)]!;
      const input: PlacementInput = {
        gpus,
        models,
        reserveBytes,
        policy,
        maxReplicasPerGpu: Math.floor(rand() * 4),
      };
      const first = planPlacement(input);
      expect(overCommitted(first, reserveBytes)).toEqual([]);
      for (const u of first.usage) {
        const placed = first.replicas.filter((r) => r.node === u.gpu.node && r.gpuIndex === u.gpu.index);
        expect(placed.reduce((s, r) => s + r.footprintBytes, 0)).toBe(u.usedBytes);
        expect(u.usedBytes).toBeLessThanOrEqual(u.gpu.memoryBytes - reserveBytes);
      }
      // Same input in another order gives the same plan.
      const again = planPlacement({ ...input, gpus: [...gpus].reverse(), models: [...models].reverse() });
      expect(again.replicas.map((r) => `${r.model}@${r.node}/${r.gpuIndex}`).sort()).toEqual(
        first.replicas.map((r) => `${r.model}@${r.node}/${r.gpuIndex}`).sort(),
      );
    }
  });

  describe('with existing replicas', () => {
    const gpus = parseGpuSpec('2x8GiB');
    const running = (
      id: string,
      gpuIndex: number,
      extra: Partial<ExistingReplica> = {},
    ): ExistingReplica => ({
      id,
      model: 'a',
      version: '1',
      node: 'local',
      gpuIndex,
      footprintBytes: 2 * GiB,
      ...extra,
    });

    it('keeps what runs and only creates the difference (scale up)', () => {
      const result = planPlacement({
        gpus,
        models: [model('a', 2 * GiB, 4)],
        existing: [running('r1', 1)],
        policy: 'binpack',
      });
      expect(result.replicas.filter((r) => r.existingId).map((r) => r.existingId)).toEqual(['r1']);
      expect(result.replicas.filter((r) => !r.existingId).map((r) => `${r.node}/${r.gpuIndex}`)).toEqual([
        'local/1',
        'local/1',
        'local/1',
      ]);
      expect(result.removed).toEqual([]);
    });

    it('scale down removes from the emptiest GPU under binpack, the fullest under spread', () => {
      const existing = [running('r1', 0), running('r2', 0), running('r3', 1)];
      const binpack = planPlacement({ gpus, models: [model('a', 2 * GiB, 2)], existing, policy: 'binpack' });
      expect(binpack.removed.map((r) => r.replica.id)).toEqual(['r3']);
      const spread = planPlacement({ gpus, models: [model('a', 2 * GiB, 2)], existing, policy: 'spread' });
      expect(spread.removed.map((r) => r.replica.id)).toHaveLength(1);
      expect(['r1', 'r2']).toContain(spread.removed[0]!.replica.id);
    });

    it('re-places replicas of a GPU that disappeared', () => {
      const result = planPlacement({
        gpus: parseGpuSpec('1x8GiB'),
        models: [model('a', 2 * GiB, 2)],
        existing: [running('r1', 0), running('r2', 1)],
      });
      expect(result.removed).toEqual([
        { replica: expect.objectContaining({ id: 'r2' }), reason: 'GPU local/1 is gone' },
      ]);
      expect(result.replicas.map((r) => [r.existingId, r.gpuIndex])).toEqual([
        ['r1', 0],
        [null, 0],
      ]);
    });

    it('counts draining replicas until they are gone', () => {
      const result = planPlacement({
        gpus: parseGpuSpec('1x6GiB'),
        models: [model('a', 2 * GiB, 3)],
        existing: [running('old', 0, { draining: true })],
      });
      expect(result.replicas).toHaveLength(2);
      expect(result.unplaced).toEqual([
        // The draining replica's memory is promised to the replica waiting for it.
        {
          model: 'a',
          count: 1,
          reason: 'waiting for local/0 to drain',
          gpus: [{ gpu: 'local/0', reason: 'short by 2.0 GiB' }],
        },
      ]);
    });

    it('OOM feedback: a raised footprint evicts what no longer fits and plans fewer per GPU', () => {
      const profiles = createProfileStore({ margin: 0.05 });
      const declared = 3 * GiB;
      const existing = [
        running('r1', 0, { footprintBytes: declared }),
        running('r2', 0, { footprintBytes: declared }),
      ];
      const footprint = (): number => profiles.footprint('a', 'virtual', declared);
      const before = planPlacement({
        gpus: parseGpuSpec('2x7GiB'),
        models: [{ ...model('a', 0, 2), footprintBytes: footprint }],
        existing,
      });
      expect(before.removed).toEqual([]);
      profiles.recordOom('a', 'virtual', declared); // 3 GiB × 1.25 = 3.75 GiB: two no longer fit in 7 GiB
      const after = planPlacement({
        gpus: parseGpuSpec('2x7GiB'),
        models: [{ ...model('a', 0, 2), footprintBytes: footprint }],
        existing,
      });
      expect(after.removed.map((r) => [r.replica.id, r.reason])).toEqual([
        ['r2', 'no longer fits its GPU (footprint raised)'],
      ]);
      expect(after.replicas.map((r) => [r.existingId, r.gpuIndex])).toEqual([
        ['r1', 0],
        [null, 1],
      ]);
      expect(overCommitted(after, 0)).toEqual([]);
    });

    it('removes replicas of models no longer configured and of replaced versions', () => {
      const result = planPlacement({
        gpus,
        models: [{ ...model('a', 2 * GiB, 1), version: '2' }],
        existing: [running('r1', 0), running('x', 1, { model: 'gone' })],
      });
      expect(result.removed.map((r) => r.reason).sort()).toEqual([
        'model no longer configured',
        'version 1 replaced by 2',
      ]);
      expect(result.replicas).toHaveLength(1);
    });
  });

  it('reports a model that fits no GPU at all', () => {
    const result = planPlacement({ gpus: parseGpuSpec('2x8GiB'), models: [model('huge', 9 * GiB, 1, 1)] });
    expect(result.unplaced).toEqual([
      {
        model: 'huge',
        count: 1,
        reason: 'footprint exceeds every GPU (capacity − reserve)',
        gpus: [
          { gpu: 'local/0', reason: 'short by 1.0 GiB' },
          { gpu: 'local/1', reason: 'short by 1.0 GiB' },
        ],
      },
    ]);
  });

  it('orders models by their largest footprint on any GPU, not the first GPU’s, on a mixed cluster', () => {
    // a/0 (sorted first) is a small card where neither model fits and `big` measures smaller than `little`;
    // on b/0's product `big` is the larger one. Only one of the two fits b/0.
    const gpus = [
      { node: 'a', index: 0, memoryBytes: 0.5 * GiB, product: 'small' },
      { node: 'b', index: 0, memoryBytes: 11 * GiB, product: 'large' },
    ];
    const perProduct =
      (small: number, large: number) =>
      (gpu: { product: string }): number =>
        gpu.product === 'small' ? small : large;
    const result = planPlacement({
      gpus,
      models: [
        {
          name: 'big',
          version: '1',
          footprintBytes: perProduct(1 * GiB, 10 * GiB),
          minReplicas: 1,
          desiredReplicas: 1,
        },
        {
          name: 'little',
          version: '1',
          footprintBytes: perProduct(2 * GiB, 2 * GiB),
          minReplicas: 1,
          desiredReplicas: 1,
        },
      ],
    });
    // Largest first gives `big` the room it needs; `little` (the easier one to place later) waits.
    expect(result.replicas.map((r) => `${r.model}@${r.node}/${r.gpuIndex}`)).toEqual(['big@b/0']);
    expect(result.unplaced.map((u) => u.model)).toEqual(['little']);
  });
});
