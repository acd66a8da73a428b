import { describe, expect, it } from 'vitest';
import { topK } from './topk.js';

describe('topK', () => {
  it('returns indices of the largest values, largest first', () => {
    expect(topK([0.1, 0.9, 0.3, 0.7, 0.5], 3)).toEqual([1, 3, 4]);
  });
  it('keeps the earlier index first on ties and caps k at the length', () => {
    expect(topK([0.5, 0.5, 0.2], 10)).toEqual([0, 1, 2]);
  });
  it('returns nothing for k = 0', () => expect(topK([1, 2], 0)).toEqual([]));
  it('agrees with a full sort on random data', () => {
    const values = Float32Array.from({ length: 5000 }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1);
    const expected = [...values.keys()].sort((a, b) => values[b]! - values[a]! || a - b).slice(0, 300);
    expect(topK(values, 300)).toEqual(expected);
  });
});
