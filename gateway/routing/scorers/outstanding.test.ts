import { describe, expect, it } from 'vitest';
import { contextFor, record, statsFor } from '../../../test/gateway/fixtures.js';
import { outstandingScorer } from './outstanding.js';

describe('outstandingScorer', () => {
  it('prefers fewer outstanding requests, counting our own and others reported ones', () => {
    const idle = record('idle', statsFor());
    const ours = record('ours', statsFor(), { inFlight: 2 });
    // Reported 5 while we had 1 in flight at poll time: 4 are someone else's; with our 1 now: 5.
    const shared = record('shared', statsFor({ inFlight: 5 }), { inFlight: 1 });
    shared.measurement.ownInFlightAtPoll = 1;
    const all = [idle, ours, shared];
    expect(outstandingScorer.score(all, contextFor(all))).toEqual([1, 0.6, 0]);
  });
});
