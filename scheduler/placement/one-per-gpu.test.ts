import { describe, expect, it } from 'vitest';
import { parseGpuSpec } from '../inventory/gpu-spec.js';
import type { Gpu, ModelPlan } from '../types.js';
import { onePerGpu, onePerGpuUtilization } from './one-per-gpu.js';

const MiB = 1024 ** 2;
const gpus = parseGpuSpec('10x24564MiB');

describe('onePerGpu', () => {
  it('puts one replica on every GPU, whatever the demand', () => {
    const codetr: ModelPlan = {
      name: 'codetr',
      version: '1',
      footprintBytes: 9830 * MiB,
      minReplicas: 1,
      desiredReplicas: 3,
    };
    const result = onePerGpu(gpus, [codetr], 512 * MiB);
    expect(result.replicas).toHaveLength(10);
    expect(result.memoryUtilization).toBeCloseTo(9830 / 24564, 6);
  });
});

describe('onePerGpuUtilization', () => {
  it('plans again only when the GPUs, a footprint or the reserve change', () => {
    let calls = 0;
    let bytes = 9830 * MiB;
    const footprintBytes = (_gpu: Gpu): number => {
      calls++;
      return bytes;
    };
    const models: ModelPlan[] = [
      { name: 'codetr', version: '1', footprintBytes, minReplicas: 0, desiredReplicas: 1 },
    ];
    const utilization = onePerGpuUtilization();
    expect(utilization(gpus, models, 512 * MiB)).toBeCloseTo(9830 / 24564, 6);
    const planned = calls;
    expect(planned).toBeGreaterThan(gpus.length); // the key reads each GPU's footprint once; the plan more

    calls = 0;
    expect(utilization([...gpus], [...models], 512 * MiB)).toBeCloseTo(9830 / 24564, 6);
    expect(calls).toBe(gpus.length); // the same inputs: only the key was read

    bytes = 11000 * MiB;
    expect(utilization(gpus, models, 512 * MiB)).toBeCloseTo(11000 / 24564, 6);
    expect(utilization(gpus, models, 14000 * MiB)).toBe(0); // nothing fits under this reserve
  });
});
