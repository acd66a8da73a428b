import type { Picker } from '../types.js';

/**
 * The highest total; ties are broken at random (`random` is injectable for tests). Random, not "the first":
 * several gateway copies with the same view would otherwise all send their next request to the same replica.
 */
export function maxScorePicker({ random = Math.random }: { random?: () => number } = {}): Picker {
  return {
    name: 'max-score',
    pick: function maxScore(candidates, scores) {
      let best = 0;
      let ties = 1;
      for (let i = 1; i < candidates.length; i++) {
        if (scores[i]! > scores[best]!) {
          best = i;
          ties = 1;
        } else if (scores[i] === scores[best] && random() * ++ties < 1) {
          best = i; // reservoir sampling: each of the tied candidates ends up chosen with probability 1/ties
        }
      }
      return candidates[best]!;
    },
  };
}
