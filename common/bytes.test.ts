import { describe, expect, it } from 'vitest';
import { formatBytes, parseBytes } from './bytes.js';

describe('parseBytes', () => {
  it.each([
    ['24GiB', 24 * 1024 ** 3],
    ['24564MiB', 24564 * 1024 ** 2],
    ['9.6GiB', Math.round(9.6 * 1024 ** 3)],
    ['512M', 512e6],
    ['1024', 1024],
    [' 2 kib ', 2048],
  ])('%s', (text, bytes) => expect(parseBytes(text)).toBe(bytes));

  it.each(['', 'GiB', '-1GiB', '3 parsecs'])('refuses %j', (text) =>
    expect(() => parseBytes(text)).toThrow(/invalid size/),
  );

  it('formats', () => expect(formatBytes(24564 * 1024 ** 2)).toBe('24.0 GiB'));
});
