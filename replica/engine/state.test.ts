import { describe, expect, it } from 'vitest';
import { NOT_READY_RETRY_AFTER_SECONDS } from '../../common/back-pressure.js';
import { GpumuxError } from '../../common/errors.js';
import { createEngineState, notReadyError } from './state.js';

describe('notReadyError', () => {
  it('says retry after the shared not-ready interval while loading, warming or draining; 30 s once failed', () => {
    expect(NOT_READY_RETRY_AFTER_SECONDS).toBe(1);
    for (const state of ['loading', 'warming'] as const) {
      expect(notReadyError(state)).toMatchObject({
        code: 'NOT_READY',
        retryAfterSeconds: NOT_READY_RETRY_AFTER_SECONDS,
      });
    }
    expect(notReadyError('draining')).toMatchObject({
      code: 'DRAINING',
      retryAfterSeconds: NOT_READY_RETRY_AFTER_SECONDS,
    });
    expect(notReadyError('failed')).toMatchObject({ code: 'NOT_READY', retryAfterSeconds: 30 });
  });

  it('is what the engine throws for work that comes while it warms up', async () => {
    const life = createEngineState({ onFatal: () => undefined });
    life.set('warming');
    const err = await life.tracked(1, () => Promise.resolve('ran')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpumuxError);
    expect(err).toMatchObject({ code: 'NOT_READY', retryAfterSeconds: NOT_READY_RETRY_AFTER_SECONDS });
    expect(life.totals.requests).toBe(0);
    life.set('ready');
    await expect(life.tracked(1, () => Promise.resolve('ran'))).resolves.toBe('ran');
  });
});
