import { describe, expect, it } from 'vitest';
import type { V1Node } from '@kubernetes/client-node';
import { gpusFromNodes } from './from-nodes.js';
import { parseGpuSpec } from './gpu-spec.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

describe('parseGpuSpec', () => {
  it.each<[string, string[]]>([
    ['2x24GiB', ['local/0:24', 'local/1:24']],
    ['24GiB', ['local/0:24']],
    ['node-a:2x24GiB,node-b:1x16GiB', ['node-a/0:24', 'node-a/1:24', 'node-b/0:16']],
    ['node-a:1x8GiB,node-a:1x16GiB', ['node-a/0:8', 'node-a/1:16']],
  ])('%s', (spec, expected) => {
    expect(parseGpuSpec(spec).map((g) => `${g.node}/${g.index}:${g.memoryBytes / GiB}`)).toEqual(expected);
  });

  it.each([
    ['', '--gpus names no GPU'],
    ['0x24GiB', 'invalid GPU count in "0x24GiB"'],
    ['2xlots', 'invalid size "lots" (expected e.g. 24GiB, 9830MiB, 512M)'],
    ['a:b:1x1GiB', 'invalid size "b:1x1GiB" (expected e.g. 24GiB, 9830MiB, 512M)'],
    ['10x24', 'GPU memory "24" in "10x24" has no unit: write e.g. 10x24GiB'],
    ['node-a:24', 'GPU memory "24" in "node-a:24" has no unit: write e.g. 24GiB'],
  ])('refuses %j', (spec, message) => expect(() => parseGpuSpec(spec)).toThrow(new Error(message)));
});

describe('gpusFromNodes', () => {
  const node = (name: string, labels: Record<string, string>, extra: Partial<V1Node> = {}): V1Node => ({
    metadata: { name, labels },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
    ...extra,
  });

  it('one record per GPU from GPU feature discovery labels; cordoned and NotReady (within the grace) marked, NotReady past it gone', () => {
    const now = Date.parse('2026-12-07T12:00:00Z');
    const notReady = (status: string, minutesAgo: number): Partial<V1Node> => ({
      status: {
        conditions: [
          {
            type: 'Ready',
            status,
            reason: 'NodeStatusUnknown',
            lastTransitionTime: new Date(now - minutesAgo * 60_000),
          },
        ],
      },
    });
    const one = { 'nvidia.com/gpu.count': '1', 'nvidia.com/gpu.memory': '24564' };
    const gpus = gpusFromNodes(
      [
        node('a', {
          'nvidia.com/gpu.count': '2',
          'nvidia.com/gpu.memory': '24564',
          'nvidia.com/gpu.product': 'NVIDIA-GeForce-RTX-4090',
        }),
        node('cpu', {}),
        node('down-long', one, notReady('False', 6)),
        node('down-now', one, notReady('Unknown', 4)),
        node('cordoned', one, { spec: { unschedulable: true } }),
      ],
      { now: () => now },
    );
    expect(gpus).toEqual([
      { node: 'a', index: 0, memoryBytes: 24564 * MiB, product: 'NVIDIA-GeForce-RTX-4090' },
      { node: 'a', index: 1, memoryBytes: 24564 * MiB, product: 'NVIDIA-GeForce-RTX-4090' },
      {
        node: 'down-now',
        index: 0,
        memoryBytes: 24564 * MiB,
        product: 'unknown',
        unschedulable: 'not-ready',
      },
      { node: 'cordoned', index: 0, memoryBytes: 24564 * MiB, product: 'unknown', unschedulable: 'cordoned' },
    ]);
    // a shorter grace: the node NotReady for 4 minutes is gone too
    expect(
      gpusFromNodes([node('down-now', one, notReady('Unknown', 4))], {
        now: () => now,
        notReadyGraceMs: 60_000,
      }),
    ).toEqual([]);
  });

  it('falls back to the configured memory and honours the node selector', () => {
    const nodes = [
      node('a', { 'nvidia.com/gpu.count': '1', pool: 'gpu' }),
      node('b', { 'nvidia.com/gpu.count': '1', pool: 'other' }),
    ];
    expect(gpusFromNodes(nodes, { nodeSelector: { pool: 'gpu' }, memoryBytes: 16 * GiB })).toEqual([
      { node: 'a', index: 0, memoryBytes: 16 * GiB, product: 'unknown' },
    ]);
    expect(gpusFromNodes(nodes)).toEqual([]);
  });
});
