import type { V1Node, V1ResourceSlice } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { SchedulerConfig } from '../config/schema.js';
import { gpusFromNodes } from './from-nodes.js';
import { uuidsFromResourceSlices, withUuids } from './from-resource-slices.js';
import { GPU_UUIDS_ANNOTATION, uuidsFromAnnotation } from './gpu-uuids.js';

const A = 'GPU-aaaaaaaa-0000-0000-0000-000000000000';
const B = 'GPU-bbbbbbbb-0000-0000-0000-000000000000';

describe('GPU UUIDs in the inventory', () => {
  it('from the node annotation, by index; an entry that is no UUID leaves that GPU pinned by index', () => {
    expect(uuidsFromAnnotation(`${A}, junk ,${B}`)).toEqual([A, undefined, B]);
    const node: V1Node = {
      metadata: {
        name: 'gpu-1',
        labels: { 'nvidia.com/gpu.count': '2', 'nvidia.com/gpu.memory': '24564' },
        annotations: { [GPU_UUIDS_ANNOTATION]: `${A},${B}` },
      },
    };
    expect(gpusFromNodes([node]).map((g) => [g.index, g.uuid])).toEqual([
      [0, A],
      [1, B],
    ]);
  });

  it('from the static list, one per GPU', () => {
    const parse = (uuids: string[]) =>
      SchedulerConfig.safeParse({
        models: [{ name: 'm', manifest: '/m' }],
        gpus: { source: 'static', static: [{ node: 'n', count: 2, memory: '24GiB', uuids }] },
      });
    expect(parse([A, B]).success).toBe(true);
    expect(parse([A]).error?.issues[0]?.message).toBe('uuids must list one UUID per GPU (count)');
    expect(parse([A, '1']).error?.issues[0]?.message).toBe('a GPU UUID: GPU-<hex>');
  });

  it('from NVIDIA DRA ResourceSlices, in index order (else PCI bus order), MIG devices and other drivers left out', () => {
    const slice = (driver: string, node: string, devices: Record<string, object>[]): V1ResourceSlice => ({
      spec: {
        driver,
        nodeName: node,
        pool: { name: node, generation: 1, resourceSliceCount: 1 },
        devices: devices.map((attributes, i) => ({ name: `d${i}`, attributes })),
      },
    });
    const slices = [
      slice('gpu.nvidia.com', 'n1', [
        { uuid: { string: B }, pciBusID: { string: '0000:41:00.0' } },
        { uuid: { string: A }, pciBusID: { string: '0000:01:00.0' } },
        { uuid: { string: 'MIG-1234' }, pciBusID: { string: '0000:01:00.0' } },
      ]),
      slice('gpu.nvidia.com', 'n2', [
        { uuid: { string: A }, index: { _int: 1 } },
        { uuid: { string: B }, index: { _int: 0 } },
      ]),
      slice('other.example.com', 'n3', [{ uuid: { string: A } }]),
    ];
    const uuids = uuidsFromResourceSlices(slices);
    expect(Object.fromEntries(uuids)).toEqual({ n1: [A, B], n2: [B, A] });
    const gpus = withUuids(
      [
        { node: 'n1', index: 1, memoryBytes: 1, product: 'p' },
        { node: 'n3', index: 0, memoryBytes: 1, product: 'p' },
      ],
      uuids,
    );
    expect(gpus.map((g) => g.uuid)).toEqual([B, undefined]);
  });
});
