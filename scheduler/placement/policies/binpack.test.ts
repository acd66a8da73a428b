import { describe, expect, it } from 'vitest';
import { usageOf } from '../../../test/scheduler/placement-fixtures.js';
import { binpackPolicy } from './binpack.js';

const GiB = 1024 ** 3;

describe('binpackPolicy', () => {
  it('scores the GPU fullest after placing highest', () => {
    const fuller = binpackPolicy.score(usageOf(8, 4), 2 * GiB, 'a');
    const emptier = binpackPolicy.score(usageOf(8, 0), 2 * GiB, 'a');
    expect(fuller).toEqual([0.75]);
    expect(emptier).toEqual([0.25]);
  });

  it('drains the emptiest GPU first on scale-down (consolidates): it sorts last', () => {
    const empty = { bytes: 2 * GiB, replicas: 1 };
    const full = { bytes: 6 * GiB, replicas: 3 };
    expect([empty, full].sort(binpackPolicy.surplusOrder)).toEqual([full, empty]);
  });

  it('says why, and why GPUs stay idle', () => {
    expect(binpackPolicy.reason(usageOf(8, 4, { models: ['a'] }))).toBe('binpack: fullest GPU that fits');
    expect(binpackPolicy.idleNote).toMatch(/fills GPUs one by one/);
    expect(binpackPolicy.wholeModelsFirst).toBe(false);
  });
});
