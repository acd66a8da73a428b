import { describe, expect, it } from 'vitest';
import { parseGpuSpec } from '../inventory/gpu-spec.js';
import type { ExistingReplica } from '../types.js';
import { model } from '../../test/scheduler/placement-fixtures.js';
import { overCommitted, planPlacement, type PlacementInput } from './plan.js';

// The default policy (throughput): a replica goes where it adds the most compute within memory.
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const CODETR = 9830 * MiB;
const running = (id: string, m: string, gpuIndex: number, footprintBytes: number, extra: Partial<ExistingReplica> = {}): ExistingReplica => ({
  id,
  model: m,
  version: '1',
  node: 'local',
  gpuIndex,
  footprintBytes,
  ...extra,
}); // prettier-ignore
/** Per GPU `index:model,model` (sorted), GPUs with nothing left out. */
const layout = (input: PlacementInput): string[] => {
  const r = planPlacement(input);
  expect(overCommitted(r, input.reserveBytes ?? 0)).toEqual([]);
  return r.usage
    .map((u) => [u.gpu.index, r.replicas.filter((x) => x.gpuIndex === u.gpu.index).map((x) => x.model).sort()] as const)
    .filter(([, ms]) => ms.length > 0)
    .map(([i, ms]) => `${i}:${ms.join(',')}`);
}; // prettier-ignore

describe('throughput policy (default)', () => {
  it.each<[string, PlacementInput, string[]]>([
    [
      'the done-when check: codetr=5 on 10 × 24 GiB takes five GPUs, one each',
      { gpus: parseGpuSpec('10x24GiB'), models: [model('codetr', CODETR, 5)], reserveBytes: 512 * MiB },
      ['0:codetr', '1:codetr', '2:codetr', '3:codetr', '4:codetr'],
    ],
    [
      'partial demand: 15 on 10 GPUs uses every GPU before doubling up',
      { gpus: parseGpuSpec('10x24GiB'), models: [model('codetr', CODETR, 15)], reserveBytes: 512 * MiB },
      [...[0, 1, 2, 3, 4].map((i) => `${i}:codetr,codetr`), ...[5, 6, 7, 8, 9].map((i) => `${i}:codetr`)],
    ],
    [
      'full demand packs like binpack: two per GPU',
      { gpus: parseGpuSpec('3x24GiB'), models: [model('codetr', CODETR, Infinity)], reserveBytes: 512 * MiB },
      ['0:codetr,codetr', '1:codetr,codetr', '2:codetr,codetr'],
    ],
    [
      'mixed footprints: each GPU gets compute first, copies of a model stay apart',
      { gpus: parseGpuSpec('2x24GiB'), models: [model('big', 16 * GiB, 1), model('small', 4 * GiB, 3)] },
      ['0:big,small', '1:small,small'],
    ],
    [
      'two models, two each on two GPUs: one of each per GPU (the local stack)',
      {
        gpus: parseGpuSpec('2x5GiB'),
        models: [model('shapes', 2 * GiB, 2), model('shapes-detr', 2 * GiB, 2)],
        reserveBytes: 512 * MiB,
      },
      ['0:shapes,shapes-detr', '1:shapes,shapes-detr'],
    ],
    [
      'cordoned GPUs take nothing new, even idle',
      { gpus: parseGpuSpec('3x24GiB'), models: [model('codetr', CODETR, 3)], cordoned: ['local/1'] },
      ['0:codetr,codetr', '2:codetr'],
    ],
    [
      'the per-GPU cap still holds',
      { gpus: parseGpuSpec('2x24GiB'), models: [model('a', 2 * GiB, 5)], maxReplicasPerGpu: 2 },
      ['0:a,a', '1:a,a'],
    ],
    [
      'measured busy shares: the new replica goes where the running ones leave the GPU most idle',
      {
        gpus: parseGpuSpec('3x24GiB'),
        models: [model('codetr', CODETR, 4)],
        existing: [0, 1, 2].map((i) => running(`r${i}`, 'codetr', i, CODETR)),
        utilization: new Map([
          ['local/0', { ratio: 0.9, replicas: 1 }],
          ['local/1', { ratio: 0.2, replicas: 1 }],
          ['local/2', { ratio: 0.6, replicas: 1 }],
        ]),
      },
      ['0:codetr', '1:codetr,codetr', '2:codetr'],
    ],
    [
      'an idle GPU beats a lightly loaded one',
      {
        gpus: parseGpuSpec('2x24GiB'),
        models: [model('codetr', CODETR, 2)],
        existing: [running('r0', 'codetr', 0, CODETR)],
        utilization: new Map([['local/0', { ratio: 0.05, replicas: 1 }]]),
      },
      ['0:codetr', '1:codetr'],
    ],
    [
      'a replica still starting counts as busy as the measured ones, so copies of a model stay apart',
      {
        gpus: parseGpuSpec('2x5GiB'),
        models: [model('shapes', 2 * GiB, 2), model('shapes-detr', 2 * GiB, 2)],
        reserveBytes: 512 * MiB,
        existing: [
          running('s', 'shapes', 0, 2 * GiB),
          running('d', 'shapes-detr', 1, 2 * GiB, { ready: false }),
        ],
        utilization: new Map([['local/0', { ratio: 0.08, replicas: 1 }]]),
      },
      ['0:shapes,shapes-detr', '1:shapes,shapes-detr'],
    ],
    [
      'a replica this plan would create anyway stands aside for a model that needs a whole GPU',
      { gpus: parseGpuSpec('3x24GiB'), models: [model('big', 20 * GiB, 2), model('small', 8 * GiB, 2, 2)] },
      ['0:big', '1:small,small', '2:big'],
    ],
  ])('%s', (_name, input, expected) => expect(layout(input)).toEqual(expected));

  it('says why each GPU refused a model (cordoned, per-GPU cap, short by N)', () => {
    const result = planPlacement({
      gpus: parseGpuSpec('n0:1x8GiB,n1:1x4GiB,n2:1x24GiB'),
      models: [model('a', 5 * GiB, 3, 3)],
      cordoned: ['n0/0'],
      maxReplicasPerGpu: 2,
      existing: ['x', 'y'].map((id) => ({ ...running(id, 'a', 0, 5 * GiB), node: 'n2' })),
    });
    expect(result.unplaced).toEqual([
      {
        model: 'a',
        count: 1,
        reason: 'no GPU has enough headroom',
        gpus: [
          { gpu: 'n0/0', reason: 'cordoned' },
          { gpu: 'n1/0', reason: 'short by 1.0 GiB' },
          { gpu: 'n2/0', reason: 'per-GPU cap of 2 replicas reached' },
        ],
      },
    ]);
  });

  it('a waiting big model forces a move: copy first, drain once the copy is ready, then the big one', () => {
    const gpus = parseGpuSpec('2x24GiB');
    const models = [model('big', 22 * GiB, 1), model('small', 4 * GiB, 2)];
    const r0 = running('r0', 'small', 0, 4 * GiB);
    const r1 = running('r1', 'small', 1, 4 * GiB);

    // 1. big fits nowhere (20 GiB free on each): a copy of r0 is created on local/1; local/0 is kept for big.
    const first = planPlacement({ gpus, models, existing: [r0, r1] });
    expect(first.moves.map((m) => [m.replica.id, `${m.to.node}/${m.to.gpuIndex}`])).toEqual([
      ['r0', 'local/1'],
    ]);
    expect(first.replicas.filter((r) => !r.existingId)).toEqual([
      expect.objectContaining({ model: 'small', gpuIndex: 1, moveOf: 'r0' }),
    ]);
    expect(first.removed).toEqual([]); // nothing drains before the copy serves
    expect(first.unplaced[0]).toMatchObject({
      model: 'big',
      reason: 'waiting for room on local/0: moving small elsewhere',
    });
    expect(first.usage[0]!.reservedFor).toBe('big');

    // 2. The copy is starting: both stay, nothing new is moved or created.
    const copy = running('c', 'small', 1, 4 * GiB, { ready: false, replaces: 'r0' });
    const second = planPlacement({ gpus, models, existing: [r0, r1, copy] });
    expect(second.moves).toEqual([]);
    expect(second.removed).toEqual([]);
    expect(second.replicas.filter((r) => !r.existingId)).toEqual([]);
    expect(second.unplaced[0]).toMatchObject({ model: 'big', reason: 'waiting for local/0 to drain' });

    // 3. The copy is ready: r0 drains, and still holds its memory, so big waits one more pass.
    const ready = { ...copy, ready: true };
    const third = planPlacement({ gpus, models, existing: [r0, r1, ready] });
    expect(third.removed).toEqual([{ replica: r0, reason: 'moved to local/1 (its copy is ready)' }]);
    expect(third.replicas.filter((r) => r.model === 'big')).toEqual([]);
    expect(overCommitted(third, 0)).toEqual([]);

    // 4. r0 is gone: big takes local/0.
    const fourth = planPlacement({ gpus, models, existing: [r1, { ...ready, replaces: null }] });
    expect(fourth.replicas.filter((r) => !r.existingId).map((r) => `${r.model}@${r.gpuIndex}`)).toEqual([
      'big@0',
    ]);
    expect(fourth.unplaced).toEqual([]);
  });

  it('does not move when nothing smaller stands in the way', () => {
    const result = planPlacement({
      gpus: parseGpuSpec('1x24GiB'),
      models: [model('a', 14 * GiB, 1), model('b', 14 * GiB, 1)],
      existing: [running('r', 'a', 0, 14 * GiB)],
    });
    expect(result.moves).toEqual([]);
    expect(result.unplaced.map((u) => u.model)).toEqual(['b']);
  });
});
