import { describe, expect, it } from 'vitest';
import { DeviceStats, FootprintStats } from '../contract.js';
import { createDeviceTelemetry } from './device.js';
import { createNvidiaSmi } from './nvidia-smi.js';

const MIB = 1024 * 1024;
const GiB = 1024 ** 3;

/** nvidia-smi whose memory.used follows a script, one value per call. */
function scriptedSmi(used: number[]) {
  let call = 0;
  return createNvidiaSmi({
    run: async () =>
      `0, GPU-e18afb8d-1627-f8ff-2ba3-c05c5a8e9e67, NVIDIA GeForce RTX 4090, 24564, ${used[Math.min(call++, used.length - 1)]}\n`,
  });
}

describe('createDeviceTelemetry', () => {
  it('cuda: footprint = used after warm-up − used before load', async () => {
    const t = createDeviceTelemetry({
      kind: 'cuda',
      index: 0,
      node: 'gpu-1',
      declaredBytes: 9 * GiB,
      smi: scriptedSmi([1200, 11030, 11500]),
    });
    expect(t.footprint()).toMatchObject({ method: 'declared', bytes: 9 * GiB });
    await t.beforeLoad();
    await t.afterWarmup();
    expect(FootprintStats.parse(t.footprint())).toEqual({
      bytes: 9830 * MIB,
      method: 'gpu-used-delta',
      peakBytes: 9830 * MIB,
    });
    await t.refresh();
    expect(DeviceStats.parse(t.device())).toEqual({
      kind: 'cuda',
      node: 'gpu-1',
      index: 0,
      uuid: 'GPU-e18afb8d-1627-f8ff-2ba3-c05c5a8e9e67',
      name: 'NVIDIA GeForce RTX 4090',
      memoryTotalBytes: 24564 * MIB,
      memoryUsedBytes: 11500 * MIB,
      virtual: false,
    });
  });

  it('cuda: a failing nvidia-smi refresh keeps the last reading', async () => {
    let fail = false;
    const smi = createNvidiaSmi({
      run: async () => {
        if (fail) throw new Error('nvidia-smi hung');
        return '0, GPU-a, NVIDIA GeForce RTX 4090, 24564, 3000\n';
      },
    });
    const t = createDeviceTelemetry({ kind: 'cuda', index: 0, node: 'n', declaredBytes: 1, smi });
    await t.refresh();
    fail = true;
    await t.refresh();
    expect(t.device().memoryUsedBytes).toBe(3000 * MIB);
  });

  it('virtual: configured footprint, used = others + footprint, marked virtual', async () => {
    const t = createDeviceTelemetry({
      kind: 'cpu',
      node: 'local',
      declaredBytes: 2 * GiB,
      virtualGpu: {
        node: 'node-a',
        index: 1,
        capacityBytes: 24 * GiB,
        usedByOthersBytes: 3 * GiB,
        footprintBytes: 5 * GiB,
      },
    });
    expect(DeviceStats.parse(t.device())).toEqual({
      kind: 'virtual',
      node: 'node-a',
      index: 1,
      uuid: 'virtual-node-a-1',
      name: 'virtual',
      memoryTotalBytes: 24 * GiB,
      memoryUsedBytes: 8 * GiB,
      virtual: true,
    });
    expect(t.footprint()).toEqual({ bytes: 5 * GiB, method: 'configured', peakBytes: 5 * GiB });
  });

  it('virtual without a footprint uses the manifest declared bytes', () => {
    const t = createDeviceTelemetry({
      kind: 'cpu',
      node: 'local',
      declaredBytes: 2 * GiB,
      virtualGpu: { node: 'node-a', index: 0, capacityBytes: 8 * GiB, usedByOthersBytes: 0 },
    });
    expect(t.footprint().bytes).toBe(2 * GiB);
    expect(t.device().memoryUsedBytes).toBe(2 * GiB);
  });

  it('cpu: RSS after warm-up, peak tracked', async () => {
    const samples = [100, 300, 200];
    const t = createDeviceTelemetry({
      kind: 'cpu',
      node: 'n',
      declaredBytes: 1,
      rss: () => samples.shift() ?? 150,
    });
    await t.beforeLoad();
    await t.afterWarmup();
    await t.refresh();
    expect(t.footprint()).toEqual({ bytes: 300, method: 'rss', peakBytes: 300 });
    expect(t.device()).toMatchObject({ kind: 'cpu', index: null, virtual: false });
  });

  it('refuses a virtual GPU on a cuda replica', () => {
    expect(() =>
      createDeviceTelemetry({
        kind: 'cuda',
        node: 'n',
        declaredBytes: 1,
        virtualGpu: { node: 'n', index: 0, capacityBytes: 1, usedByOthersBytes: 0 },
      }),
    ).toThrow(/virtual GPU/);
  });
});
