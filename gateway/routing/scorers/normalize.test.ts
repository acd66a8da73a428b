import { describe, expect, it } from 'vitest';
import { minMaxNormalize } from './normalize.js';

describe('minMaxNormalize', () => {
  it.each([
    [[1, 2, 3], false, [0, 0.5, 1]],
    [[1, 2, 3], true, [1, 0.5, 0]],
    [[4, 4], true, [1, 1]],
    [[], true, []],
  ])('%j lowerIsBetter=%s', (values, lower, expected) => {
    expect(minMaxNormalize(values, lower)).toEqual(expected);
  });
});
