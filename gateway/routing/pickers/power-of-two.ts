import type { Picker } from '../types.js';

/**
 * Power of two choices: two distinct random candidates, the better-scored wins (ties: the earlier one).
 * Spreads load between gateway copies that share a stale view better than everyone picking the maximum.
 */
export function powerOfTwoPicker({ random = Math.random }: { random?: () => number } = {}): Picker {
  return {
    name: 'power-of-two',
    pick: function powerOfTwo(candidates, scores) {
      const n = candidates.length;
      if (n === 1) return candidates[0]!;
      const a = Math.floor(random() * n);
      let b = Math.floor(random() * (n - 1));
      if (b >= a) b++;
      const [first, second] = a < b ? [a, b] : [b, a];
      return scores[second]! > scores[first]! ? candidates[second]! : candidates[first]!;
    },
  };
}
