import { describe, expect, it } from 'vitest';
import { GpumuxError } from '../errors.js';
import { answerFrames } from './multipart-answer.js';

const failWith = (code: ConstructorParameters<typeof GpumuxError>[0]) => () =>
  Promise.reject(new GpumuxError(code, `frame ${code}`));

describe('answerFrames (the per-frame merge rule)', () => {
  it('answers every frame in order, a failed frame in its own slot', async () => {
    const answer = await answerFrames([1, 2, 3], async (n) => {
      if (n === 2) throw new GpumuxError('INVALID_IMAGE', 'not an image');
      await new Promise((resolve) => setTimeout(resolve, (3 - n) * 5)); // answers out of order
      return { n };
    });
    expect(answer).toEqual({
      results: [{ n: 1 }, { error: { code: 'INVALID_IMAGE', message: 'not an image' } }, { n: 3 }],
    });
  });

  it('throws the error every frame shared when it is back-pressure, not a per-frame fault', async () => {
    await expect(answerFrames([1, 2], failWith('QUEUE_FULL'))).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    const own = await answerFrames([1, 2], failWith('INVALID_IMAGE'));
    expect(own.results).toHaveLength(2);
    const mixed = await answerFrames([1, 2], (n) =>
      n === 1 ? failWith('QUEUE_FULL')() : Promise.resolve(n),
    );
    expect(mixed.results[1]).toBe(2);
  });
});
