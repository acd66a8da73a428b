import { describe, expect, it } from 'vitest';
import { gpuUtilization, type UtilizationSample } from './gpu-utilization.js';

const cuda = (busyRatio: number, utilizationRatio?: number | null): UtilizationSample => ({
  device: { kind: 'cuda', utilizationRatio },
  busyRatio,
});
const virtual = (busyRatio: number): UtilizationSample => ({ device: { kind: 'virtual' }, busyRatio });

describe('gpuUtilization', () => {
  it.each<[string, UtilizationSample[], ReturnType<typeof gpuUtilization>]>([
    ['no replica: unknown', [], null],
    ['virtual: Σ busy shares', [virtual(0.25), virtual(0.5)], { ratio: 0.75, source: 'busy-ratio' }],
    ['virtual: at most 1', [virtual(0.75), virtual(0.75)], { ratio: 1, source: 'busy-ratio' }],
    ['cuda: nvidia-smi wins over busy shares', [cuda(0.1, 0.5), cuda(0.1, 0.25)], { ratio: 0.5, source: 'measured' }],
    ['cuda without a reading: busy shares', [cuda(0.25, null), cuda(0.5)], { ratio: 0.75, source: 'busy-ratio' }],
    ['a virtual utilizationRatio is ignored', [{ device: { kind: 'virtual', utilizationRatio: 0.9 }, busyRatio: 0.25 }], { ratio: 0.25, source: 'busy-ratio' }],
  ])('%s', (_name, samples, expected) => expect(gpuUtilization(samples)).toEqual(expected)); // prettier-ignore
});
