import { describe, expect, it } from 'vitest';
import { createBearerCheck } from './bearer.js';

describe('createBearerCheck', () => {
  const allowed = createBearerCheck(['alpha', 'a-much-longer-second-token']);
  it.each([
    ['Bearer alpha', true],
    ['bearer a-much-longer-second-token', true],
    ['Bearer alph', false],
    ['Bearer alphaa', false],
    ['Basic alpha', false],
    ['alpha', false],
    [undefined, false],
  ])('%s → %s', (header, expected) => {
    expect(allowed(header)).toBe(expected);
  });
});
