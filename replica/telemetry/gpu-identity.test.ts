import { describe, expect, it } from 'vitest';
import { resolveGpuIdentity } from './gpu-identity.js';

const UUID = 'GPU-22b2c6ac-2d49-4863-197c-9c469071178a';

describe('resolveGpuIdentity', () => {
  it.each<[string, Parameters<typeof resolveGpuIdentity>[0], ReturnType<typeof resolveGpuIdentity>]>([
    [
      "bare host, no env: the ORT id is nvidia-smi's index",
      { deviceIndex: 1, env: {} },
      { smiId: '1', index: null },
    ],
    [
      "local --real-gpus: CUDA_VISIBLE_DEVICES=2 and cuda:0 measure nvidia-smi's GPU 2",
      { deviceIndex: 0, gpuIndex: 2, env: { CUDA_VISIBLE_DEVICES: '2', CUDA_DEVICE_ORDER: 'PCI_BUS_ID' } },
      { smiId: '2', index: 2 },
    ],
    [
      'CUDA_VISIBLE_DEVICES lists several: the ORT id picks the entry',
      { deviceIndex: 1, env: { CUDA_VISIBLE_DEVICES: '3, 1' } },
      { smiId: '1', index: null },
    ],
    [
      'CUDA_VISIBLE_DEVICES by UUID: nvidia-smi --id=<uuid>',
      { deviceIndex: 0, env: { CUDA_VISIBLE_DEVICES: UUID } },
      { smiId: UUID, index: null },
    ],
    [
      'pinned pod: NVIDIA_VISIBLE_DEVICES=3, nvidia-smi sees one GPU as 0, the index comes from GPUMUX_GPU_INDEX',
      { deviceIndex: 0, gpuIndex: 3, env: { NVIDIA_VISIBLE_DEVICES: '3' } },
      { smiId: '0', index: 3 },
    ],
    [
      'device-plugin pod: NVIDIA_VISIBLE_DEVICES=<uuid> names the GPU exactly',
      { deviceIndex: 0, env: { NVIDIA_VISIBLE_DEVICES: UUID } },
      { smiId: UUID, index: null },
    ],
    [
      'time-slicing pod: the UUID the device plugin gave, found in GPUMUX_NODE_GPU_UUIDS, is the node-level index',
      {
        deviceIndex: 0,
        env: {
          NVIDIA_VISIBLE_DEVICES: UUID,
          GPUMUX_NODE_GPU_UUIDS: `GPU-00000000-0000-0000-0000-000000000000,${UUID.toUpperCase()}`,
        },
      },
      { smiId: UUID, index: 1 },
    ],
    [
      'NVIDIA_VISIBLE_DEVICES=all is no selection',
      { deviceIndex: 1, env: { NVIDIA_VISIBLE_DEVICES: 'all' } },
      { smiId: '1', index: null },
    ],
  ])('%s', (_name, input, expected) => expect(resolveGpuIdentity(input)).toEqual(expected));

  it('refuses a device id CUDA_VISIBLE_DEVICES does not have', () => {
    expect(() => resolveGpuIdentity({ deviceIndex: 1, env: { CUDA_VISIBLE_DEVICES: '2' } })).toThrow(
      /cuda:1 does not exist under CUDA_VISIBLE_DEVICES=2/,
    );
  });
});
