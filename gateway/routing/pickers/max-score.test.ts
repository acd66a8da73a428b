import { describe, expect, it } from 'vitest';
import { record, statsFor } from '../../../test/gateway/fixtures.js';
import { maxScorePicker } from './max-score.js';

describe('maxScorePicker', () => {
  const [a, b, c] = ['a', 'b', 'c'].map((id) => record(id, statsFor()));
  it('picks the highest total', () => {
    expect(maxScorePicker([a!, b!, c!], [1, 3, 2])).toBe(b);
  });
  it('breaks ties deterministically towards the earlier candidate', () => {
    expect(maxScorePicker([a!, b!, c!], [2, 3, 3])).toBe(b);
    expect(maxScorePicker([a!, b!, c!], [1, 1, 1])).toBe(a);
  });
});
