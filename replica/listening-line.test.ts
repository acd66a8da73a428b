import { describe, expect, it } from 'vitest';
import { LISTENING_MSG, parseListeningLine } from './listening-line.js';

describe('parseListeningLine', () => {
  it('returns the url of the listening line', () => {
    const line = JSON.stringify({
      level: 'info',
      msg: LISTENING_MSG,
      url: 'http://127.0.0.1:4000',
      port: 4000,
    });
    expect(parseListeningLine(line)).toBe('http://127.0.0.1:4000');
  });

  it('ignores other lines, lines without a url and non-JSON text', () => {
    expect(parseListeningLine(JSON.stringify({ msg: 'ready', url: 'http://x' }))).toBeUndefined();
    expect(parseListeningLine(JSON.stringify({ msg: 'listening' }))).toBeUndefined();
    expect(parseListeningLine('warning: "listening" is not JSON')).toBeUndefined();
  });
});
