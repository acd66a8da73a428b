import { describe, expect, it } from 'vitest';
import { parseGpuSpec } from './inventory/gpu-spec.js';
import { planPlacement } from './placement/plan.js';
import type { Policy } from './placement/policy.js';
import { formatPlanTable, planToJson } from './plan-report.js';

const MiB = 1024 ** 2;
const codetr = (replicas: number) => ({
  name: 'codetr',
  version: '1',
  footprintBytes: 9830 * MiB,
  minReplicas: replicas,
  desiredReplicas: replicas,
});
const table = (replicas: number, policy: Policy): string => {
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

  it('the default policy uses every GPU first: no idle GPU at 10 replicas on 10', () => {
    expect(table(10, 'throughput')).not.toMatch(/idle:/);
    expect(table(5, 'throughput')).toMatch(/idle: 5 of 10 GPUs hold no replica \(fewer replicas than GPUs/);
  });

  it('lists why each GPU refused an unplaced model, grouped by reason', () => {
    const result = planPlacement({
      gpus: parseGpuSpec('10x24564MiB'),
      models: [codetr(21)],
      reserveBytes: 1024 * MiB,
      cordoned: ['local/9'],
    });
    const text = formatPlanTable(planToJson(result, 1024 * MiB), null);
    expect(text).toMatch(/unplaced: 3 × codetr \(no GPU has enough headroom\)/);
    expect(text).toMatch(/ {2}local\/0 … local\/8 \(9 GPUs\): short by 5\.8 GiB/);
    expect(text).toMatch(/ {2}local\/9: cordoned/);
  });
});
