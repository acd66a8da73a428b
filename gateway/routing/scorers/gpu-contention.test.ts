import { describe, expect, it } from 'vitest';
import { contextFor, record, statsFor } from '../../../test/gateway/fixtures.js';
import { gpuContentionScorer } from './gpu-contention.js';

describe('gpuContentionScorer', () => {
  it('scores an idle replica on a busy GPU below an idle replica on an idle GPU', () => {
    const busy = record('a-busy', statsFor({ gpu: ['n', 0] }), { inFlight: 1 });
    const idleSameGpu = record('b-idle', statsFor({ gpu: ['n', 0] }));
    const idleOtherGpu = record('c-idle', statsFor({ gpu: ['n', 1] }));
    const all = [busy, idleSameGpu, idleOtherGpu];
    const ctx = contextFor(all);
    // The busy replica itself is not contended by others on its GPU.
    expect(gpuContentionScorer.score([idleSameGpu, idleOtherGpu], ctx)).toEqual([0, 1]);
    expect(gpuContentionScorer.score(all, ctx)).toEqual([1, 0, 1]);
  });

  it('with nobody in flight, the GPU whose other replicas took more compute at the last poll scores lower', () => {
    const hot = record('a', statsFor({ gpu: ['n', 0], busyRatio: 0.75 }));
    const onHot = record('b', statsFor({ gpu: ['n', 0] }));
    const cool = record('c', statsFor({ gpu: ['n', 1], busyRatio: 0.25 }));
    const onCool = record('d', statsFor({ gpu: ['n', 1] }));
    const ctx = contextFor([hot, onHot, cool, onCool]);
    expect(gpuContentionScorer.score([onHot, onCool], ctx)).toEqual([0, 1]);
  });
});
