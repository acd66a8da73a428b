import { describe, expect, it } from 'vitest';
import { usageOf } from '../../../test/scheduler/placement-fixtures.js';
import { throughputPolicy } from './throughput.js';

const GiB = 1024 ** 3;

describe('throughputPolicy', () => {
  it('scores the least busy GPU first, then fewer copies of the model, then the fuller GPU', () => {
    const score = (u: Parameters<typeof throughputPolicy.score>[0]) =>
      throughputPolicy.score(u, 2 * GiB, 'a');
    expect(score(usageOf(8, 0))).toEqual([1, 1, 0.25]);
    expect(score(usageOf(8, 2, { models: ['a'] }))).toEqual([0.5, 0.5, 0.5]);
    expect(score(usageOf(8, 2, { models: ['b'] }))).toEqual([0.5, 1, 0.5]);
    // measured busy share counts, not the replica count
    expect(score(usageOf(8, 4, { models: ['b', 'c'], busy: 0.25 }))[0]).toBeCloseTo(0.8);
  });

  it('says whether the GPU was idle or how busy it was', () => {
    expect(throughputPolicy.reason(usageOf(8, 0))).toBe('idle GPU');
    expect(throughputPolicy.reason(usageOf(8, 2, { models: ['a'], busy: 0.5 }))).toBe(
      'least busy GPU that fits (0.50 GPU busy before)',
    );
  });

  it('takes surplus from the GPU with most replicas sharing its compute, then the fullest: they sort last', () => {
    const crowded = { bytes: 4 * GiB, replicas: 3 };
    const fullAlone = { bytes: 6 * GiB, replicas: 1 };
    const emptyAlone = { bytes: 2 * GiB, replicas: 1 };
    expect([emptyAlone, crowded, fullAlone].sort(throughputPolicy.surplusOrder)).toEqual([
      emptyAlone,
      fullAlone,
      crowded,
    ]);
  });

  it('places finite demand model by model first', () => {
    expect(throughputPolicy.wholeModelsFirst).toBe(true);
  });
});
