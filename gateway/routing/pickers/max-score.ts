import type { Picker } from '../types.js';

/** The highest total; ties go to the earliest candidate (candidates come sorted by replica id): deterministic. */
export const maxScorePicker: Picker = function maxScorePicker(candidates, scores) {
  let best = 0;
  for (let i = 1; i < candidates.length; i++) if (scores[i]! > scores[best]!) best = i;
  return candidates[best]!;
};
