import { describe, expect, it } from 'vitest';
import { record, statsFor } from '../../test/gateway/fixtures.js';
import { perTryTimeoutMs } from './per-try.js';

const options = { multiple: 4, minMs: 1000, maxMs: 30_000 };

describe('per-try timeout', () => {
  it.each([
    // [what, gateway EWMA s, reported service s, max batch, in flight (this try included), expected ms]
    ['nothing known yet: the maximum', 0, 0, 1, 1, 30_000],
    ['the test model (tens of ms): the minimum', 0.03, 0.01, 4, 1, 1000],
    ['Co-DETR idle (0.25 s): 4 × 0.25 s, the minimum', 0.25, 0.2, 1, 1, 1000],
    ['Co-DETR idle (0.6 s)', 0.6, 0.5, 1, 1, 2400],
    ['Co-DETR, 3 batches of 1 queued ahead', 0.6, 0.5, 1, 4, 4 * (0.6 + 3 * 0.5) * 1000],
    ['batch 4: three ahead fit in this batch', 0.6, 0.5, 4, 4, 2400],
    ['batch 4: five ahead, one full batch', 0.6, 0.5, 4, 6, 4 * (0.6 + 0.5) * 1000],
    ['reported service time only (no answer through this gateway yet)', 0, 0.5, 1, 1, 2000],
    ['a huge queue: capped', 1, 1, 1, 100, 30_000],
  ])('%s', (_what, ewma, service, maxBatch, inFlight, expected) => {
    const r = record('a', statsFor({ ewmaServiceSeconds: service, maxBatch }), {
      ewmaSeconds: ewma,
      inFlight,
    });
    expect(perTryTimeoutMs(r, options)).toBeCloseTo(expected, 6);
  });
});
