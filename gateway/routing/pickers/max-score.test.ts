import { describe, expect, it } from 'vitest';
import { record, statsFor } from '../../../test/gateway/fixtures.js';
import { maxScorePicker } from './max-score.js';

describe('maxScorePicker', () => {
  const [a, b, c] = ['a', 'b', 'c'].map((id) => record(id, statsFor()));
  it('picks the highest total', () => {
    expect(maxScorePicker().pick([a!, b!, c!], [1, 3, 2])).toBe(b);
  });
  it('breaks ties with the random source', () => {
    // random() × ties < 1 takes the later tied candidate: 0.9 × 2 ≥ 1 keeps b.
    expect(maxScorePicker({ random: () => 0.9 }).pick([a!, b!, c!], [2, 3, 3])).toBe(b);
    expect(maxScorePicker({ random: () => 0.99 }).pick([a!, b!, c!], [1, 1, 1])).toBe(a);
    expect(maxScorePicker({ random: () => 0 }).pick([a!, b!, c!], [1, 1, 1])).toBe(c);
  });
  it('spreads picks over tied candidates evenly', () => {
    const { pick } = maxScorePicker();
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const id = pick([a!, b!, c!], [1, 1, 1]).endpoint.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const id of ['a', 'b', 'c']) expect(counts.get(id)).toBeGreaterThan(800);
  });
});
