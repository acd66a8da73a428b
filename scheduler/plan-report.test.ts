import { describe, expect, it } from 'vitest';
import { parseGpuSpec } from './inventory/gpu-spec.js';
import { planPlacement } from './placement/plan.js';
import { formatPlanTable, planToJson } from './plan-report.js';

const MiB = 1024 ** 2;
const codetr = (replicas: number) => ({
  name: 'codetr',
  version: '1',
  footprintBytes: 9830 * MiB,
  minReplicas: replicas,
  desiredReplicas: replicas,
});
const table = (replicas: number, policy: 'binpack' | 'spread'): string => {
  const options = { reserveBytes: 1024 * MiB, maxReplicasPerGpu: 2, policy };
  const result = planPlacement({ gpus: parseGpuSpec('10x24564MiB'), models: [codetr(replicas)], ...options });
  return formatPlanTable(planToJson(result, options.reserveBytes), null);
};

describe('plan table', () => {
  it('says how many GPUs binpack leaves idle, and how to fill them', () => {
    expect(table(10, 'binpack')).toMatch(
      /idle: 5 of 10 GPUs hold no replica \(binpack fills GPUs one by one: ask for more replicas/,
    );
    expect(table(10, 'binpack')).toMatch(/cluster memory utilisation: 40\.0 %/);
  });

  it('says nothing about idle GPUs when every GPU holds a replica', () => {
    expect(table(20, 'binpack')).not.toMatch(/idle:/);
    expect(table(20, 'binpack')).toMatch(/cluster memory utilisation: 80\.0 %/);
    expect(table(10, 'spread')).not.toMatch(/idle:/);
  });
});
