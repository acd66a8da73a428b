import { describe, expect, it } from 'vitest';
import { deadlineMs } from './deadline.js';

describe('deadlineMs', () => {
  it.each([
    [undefined, 30_000],
    ['1500', 1500],
    ['2s', 2000],
    ['100ms', 100],
    ['99999999', 600_000],
  ])('%s → %d', (header, ms) => expect(deadlineMs(header, 30_000)).toBe(ms));
  it.each(['soon', '0', '-1'])('refuses %s', (header) => {
    expect(() => deadlineMs(header, 30_000)).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER' }));
  });
});
