import { describe, expect, it } from 'vitest';
import { usageOf } from '../../../test/scheduler/placement-fixtures.js';
import { spreadPolicy } from './spread.js';

const GiB = 1024 ** 3;

describe('spreadPolicy', () => {
  it('scores the emptiest GPU highest', () => {
    const [emptier] = spreadPolicy.score(usageOf(8, 0), 2 * GiB, 'a');
    const [fuller] = spreadPolicy.score(usageOf(8, 4, { models: ['b'] }), 2 * GiB, 'a');
    expect(emptier).toBeCloseTo(0.75 * 0.9 + 0.1);
    expect(fuller).toBeCloseTo(0.25 * 0.9 + 0.1);
  });

  it('keeps copies of one model apart when the GPUs are equally full', () => {
    const [withCopy] = spreadPolicy.score(usageOf(8, 2, { models: ['a'] }), 2 * GiB, 'a');
    const [withOther] = spreadPolicy.score(usageOf(8, 2, { models: ['b'] }), 2 * GiB, 'a');
    expect(withOther).toBeGreaterThan(withCopy!);
  });

  it('takes surplus from the fullest GPU first on scale-down: it sorts last', () => {
    const empty = { bytes: 2 * GiB, replicas: 1 };
    const full = { bytes: 6 * GiB, replicas: 3 };
    expect([full, empty].sort(spreadPolicy.surplusOrder)).toEqual([empty, full]);
  });

  it('says why', () => {
    expect(spreadPolicy.reason(usageOf(8, 0))).toBe('spread: emptiest GPU that fits');
    expect(spreadPolicy.idleNote).toBeUndefined();
  });
});
