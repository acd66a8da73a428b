import { describe, expect, it } from 'vitest';
import { DeviceStats, FootprintStats } from '../contract.js';
import { createDeviceTelemetry } from './device-telemetry.js';
import { createNvidiaSmi } from './nvidia-smi.js';

const MIB = 1024 * 1024;
const GiB = 1024 ** 3;

/** nvidia-smi whose memory.used follows a script, one value per call. */
function scriptedSmi(used: number[]) {
  let call = 0;
  return createNvidiaSmi({
    run: () =>
      Promise.resolve(
        `0, GPU-e18afb8d-1627-f8ff-2ba3-c05c5a8e9e67, NVIDIA GeForce RTX 4090, 24564, ${used[Math.min(call++, used.length - 1)]}, 37\n`,
      ),
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
      utilizationRatio: 0.37,
      virtual: false,
    });
  });

  it('cuda: a failing nvidia-smi refresh keeps the last reading', async () => {
    let fail = false;
    const smi = createNvidiaSmi({
      run: () =>
        fail
          ? Promise.reject(new Error('nvidia-smi hung'))
          : Promise.resolve('0, GPU-a, NVIDIA GeForce RTX 4090, 24564, 3000, 37\n'),
    });
    const t = createDeviceTelemetry({ kind: 'cuda', index: 0, node: 'n', declaredBytes: 1, smi });
    await t.refresh();
    fail = true;
    await t.refresh();
    expect(t.device().memoryUsedBytes).toBe(3000 * MIB);
  });

  /** A node with two RTX 4090s as nvidia-smi on the host prints it; `--id=` narrows to one row like the real one. */
  function hostSmi(calls: string[]) {
    const rows = [
      '0, GPU-e18afb8d-1627-f8ff-2ba3-c05c5a8e9e67, NVIDIA GeForce RTX 4090, 24564, 2048, 37',
      '1, GPU-22b2c6ac-2d49-4863-197c-9c469071178a, NVIDIA GeForce RTX 4090, 24564, 12282, 37',
    ];
    return createNvidiaSmi({
      run: (_file, args) => {
        const id = args.find((a) => a.startsWith('--id='))?.slice(5);
        calls.push(id ?? '');
        return Promise.resolve(
          rows.filter((r) => id === undefined || r.startsWith(`${id},`) || r.includes(` ${id},`)).join('\n'),
        );
      },
    });
  }

  it('cuda, local --real-gpus (CUDA_VISIBLE_DEVICES=1, cuda:0): measures and reports GPU 1, not GPU 0', async () => {
    const calls: string[] = [];
    const t = createDeviceTelemetry({
      kind: 'cuda',
      smiId: '1',
      index: 1,
      node: 'ws',
      declaredBytes: 1,
      smi: hostSmi(calls),
    });
    await t.refresh();
    expect(calls).toEqual(['1']);
    expect(t.device()).toMatchObject({
      index: 1,
      uuid: 'GPU-22b2c6ac-2d49-4863-197c-9c469071178a',
      memoryUsedBytes: 12282 * MIB,
    });
  });

  it('cuda by UUID without a configured index: reports the index nvidia-smi prints for it', async () => {
    const calls: string[] = [];
    const t = createDeviceTelemetry({
      kind: 'cuda',
      smiId: 'GPU-22b2c6ac-2d49-4863-197c-9c469071178a',
      node: 'ws',
      declaredBytes: 1,
      smi: hostSmi(calls),
    });
    expect(t.device().index).toBeNull(); // not known before nvidia-smi answered
    await t.refresh();
    expect(t.device()).toMatchObject({ index: 1, memoryUsedBytes: 12282 * MIB });
  });

  it('cuda in a pinned pod (NVIDIA_VISIBLE_DEVICES=3): nvidia-smi sees one GPU as 0; reports index 3 and its uuid', async () => {
    // inside the container nvidia-smi lists only the pinned GPU, numbered 0, with its real UUID
    const calls: string[][] = [];
    const smi = createNvidiaSmi({
      run: (_file, args) => {
        calls.push([...args]);
        return Promise.resolve(
          '0, GPU-5d1f3a9e-7c2b-4e8f-9a61-3b0c2d4e6f80, NVIDIA GeForce RTX 4090, 24564, 9830, 37\n',
        );
      },
    });
    const t = createDeviceTelemetry({
      kind: 'cuda',
      smiId: '0',
      index: 3,
      node: 'gpu-7',
      declaredBytes: 1,
      smi,
    });
    await t.refresh();
    expect(calls[0]![0]).toBe('--id=0');
    expect(DeviceStats.parse(t.device())).toEqual({
      kind: 'cuda',
      node: 'gpu-7',
      index: 3,
      uuid: 'GPU-5d1f3a9e-7c2b-4e8f-9a61-3b0c2d4e6f80',
      name: 'NVIDIA GeForce RTX 4090',
      memoryTotalBytes: 24564 * MIB,
      memoryUsedBytes: 9830 * MIB,
      utilizationRatio: 0.37,
      virtual: false,
    });
  });

  it('virtual: configured footprint, used = others + footprint, marked virtual', () => {
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
