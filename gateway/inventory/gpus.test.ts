import { describe, expect, it } from 'vitest';
import { record, statsFor } from '../../test/gateway/fixtures.js';
import { aggregateGpus, busyReplicas, gpuInFlight } from './gpus.js';

const GiB = 1024 ** 3;

describe('aggregateGpus', () => {
  it('groups replicas per GPU and derives headroom = capacity − used − reserve', () => {
    const a = record('a', statsFor({ gpu: ['n', 0] }), { inFlight: 2 });
    const b = record('b', statsFor({ gpu: ['n', 0] }));
    const c = record('c', statsFor({ gpu: ['n', 1] }));
    const gpus = aggregateGpus([a, b, c], 1 * GiB, 0);
    const g0 = gpus.get('virtual-n-0')!;
    expect(g0.replicas.map((r) => r.endpoint.id)).toEqual(['a', 'b']);
    // virtual: each reports only its own 2 GiB; the sum of footprints (4 GiB) is the floor.
    expect(g0.usedBytes).toBe(4 * GiB);
    expect(g0.headroomBytes).toBe(24 * GiB - 4 * GiB - 1 * GiB);
    expect(busyReplicas(g0)).toBe(1);
    expect(gpuInFlight(g0)).toBe(2);
    expect(gpus.get('virtual-n-1')!.usedBytes).toBe(2 * GiB);
  });

  it('virtual: adds the largest "used by others" any replica reports to the footprints', () => {
    const a = record('a', statsFor({ gpu: ['n', 0], usedBytes: 6 * GiB })); // 4 GiB used by others + 2 GiB own
    const b = record('b', statsFor({ gpu: ['n', 0] }));
    const g = aggregateGpus([a, b], 0, 0).get('virtual-n-0')!;
    expect(g.usedBytes).toBe(4 * GiB + 4 * GiB);
  });

  it('cuda: used is the largest reported nvidia-smi value (no double counting)', () => {
    const cuda = (id: string, used: number) => {
      const s = statsFor({ gpu: ['n', 0] });
      s.device = { ...s.device, kind: 'cuda', uuid: 'GPU-1234', virtual: false, memoryUsedBytes: used };
      return record(id, s);
    };
    const g = aggregateGpus([cuda('a', 9 * GiB), cuda('b', 10 * GiB)], 0, 0).get('GPU-1234')!;
    expect(g.usedBytes).toBe(10 * GiB);
    expect(g.replicas).toHaveLength(2);
  });

  it('clamps headroom at 0 and marks the GPU critical', () => {
    const full = record('full', statsFor({ gpu: ['n', 0], usedBytes: 25.9 * GiB }));
    const g = aggregateGpus([full], 512 * 1024 ** 2, 0).get('virtual-n-0')!;
    expect(g.headroomBytes).toBe(0);
    expect(g.critical).toBe(true);
  });

  it('skips replicas that have not reported yet', () => {
    expect(aggregateGpus([record('x', null)], 0, 0).size).toBe(0);
  });
});
