import { describe, expect, it } from 'vitest';
import { sharedFrameFailure } from './back-pressure.js';
import { GpumuxError } from './errors.js';

const err = (code: ConstructorParameters<typeof GpumuxError>[0]) => new GpumuxError(code, code);

describe('sharedFrameFailure', () => {
  it('fails the whole request only when every frame failed alike with back-pressure, deadline or client gone', () => {
    for (const code of [
      'QUEUE_FULL',
      'OVERLOADED',
      'DRAINING',
      'DEADLINE_EXCEEDED',
      'CLIENT_CLOSED',
    ] as const)
      expect(sharedFrameFailure([err(code), err(code)])?.code).toBe(code);
    expect(sharedFrameFailure([err('QUEUE_FULL'), null])).toBeNull(); // one frame answered
    expect(sharedFrameFailure([err('QUEUE_FULL'), err('DRAINING')])).toBeNull(); // not alike
    expect(sharedFrameFailure([err('INVALID_IMAGE'), err('INVALID_IMAGE')])).toBeNull(); // the frames' own fault
    expect(sharedFrameFailure([])).toBeNull();
  });
});
