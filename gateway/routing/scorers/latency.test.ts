import { describe, expect, it } from 'vitest';
import { contextFor, record, statsFor } from '../../../test/gateway/fixtures.js';
import { latencyScorer } from './latency.js';

describe('latencyScorer', () => {
  it('prefers lower EWMA latency; falls back to the reported service time', () => {
    const fast = record('fast', statsFor(), { ewmaSeconds: 0.1 });
    const slow = record('slow', statsFor(), { ewmaSeconds: 0.3 });
    const reported = record('reported', statsFor({ ewmaServiceSeconds: 0.2 }));
    const all = [fast, slow, reported];
    const [f, s, r] = latencyScorer.score(all, contextFor(all));
    expect([f, s]).toEqual([1, 0]);
    expect(r).toBeCloseTo(0.5);
  });
});
