import { describe, expect, it } from 'vitest';
import { record, statsFor } from '../../../test/gateway/fixtures.js';
import { powerOfTwoPicker } from './power-of-two.js';

describe('powerOfTwoPicker', () => {
  const all = ['a', 'b', 'c', 'd'].map((id) => record(id, statsFor()));
  it('samples two distinct candidates and keeps the better one', () => {
    // random 0.0 → index 0; then floor(0.5 × 3) = 1, shifted past 0 → index 2 (c): c beats a.
    const values = [0.0, 0.5];
    const { pick } = powerOfTwoPicker({ random: () => values.shift()! });
    expect(pick(all, [0, 0, 5, 9]).endpoint.id).toBe('c');
  });
  it('never compares a candidate with itself', () => {
    const values = [0.5, 0.5];
    const { pick } = powerOfTwoPicker({ random: () => values.shift()! });
    // a = 2, b = floor(0.5*3)=1 → distinct; the better of b and c wins.
    expect(pick(all, [0, 1, 0, 9]).endpoint.id).toBe('b');
  });
  it('returns the only candidate', () => {
    expect(powerOfTwoPicker().pick([all[0]!], [0])).toBe(all[0]);
  });
  it('spreads picks over candidates with equal scores', () => {
    const { pick } = powerOfTwoPicker();
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(pick(all, [1, 1, 1, 1]).endpoint.id);
    expect(seen.size).toBeGreaterThan(1);
  });
});
