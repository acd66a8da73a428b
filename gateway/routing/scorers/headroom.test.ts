import { describe, expect, it } from 'vitest';
import { contextFor, record, statsFor } from '../../../test/gateway/fixtures.js';
import { headroomScorer } from './headroom.js';

const GiB = 1024 ** 3;

describe('headroomScorer', () => {
  it('prefers the GPU with more free memory', () => {
    const roomy = record('roomy', statsFor({ gpu: ['n', 0], usedBytes: 4 * GiB }));
    const mid = record('mid', statsFor({ gpu: ['n', 1], usedBytes: 12 * GiB }));
    const tight = record('tight', statsFor({ gpu: ['n', 2], usedBytes: 20 * GiB }));
    const all = [roomy, mid, tight];
    expect(headroomScorer.score(all, contextFor(all))).toEqual([1, 0.5, 0]);
  });
});
