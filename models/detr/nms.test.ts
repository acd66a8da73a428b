import { describe, expect, it } from 'vitest';
import { iou, nms } from './nms.js';

describe('iou', () => {
  it.each([
    [[0, 0, 10, 10], [0, 0, 10, 10], 1],
    [[0, 0, 10, 10], [5, 0, 15, 10], 50 / 150],
    [[0, 0, 10, 10], [10, 10, 20, 20], 0],
  ])('%j vs %j', (a, b, expected) => expect(iou(a, b)).toBeCloseTo(expected, 12));
});

describe('nms', () => {
  const a = { box: [0, 0, 10, 10] as [number, number, number, number], score: 0.9, label: 0 };
  const b = { box: [1, 0, 11, 10] as [number, number, number, number], score: 0.8, label: 0 }; // IoU 9/11 with a
  const c = { box: [1, 0, 11, 10] as [number, number, number, number], score: 0.7, label: 1 };
  const d = { box: [50, 50, 60, 60] as [number, number, number, number], score: 0.95, label: 0 };

  it('suppresses overlapping boxes of the same class only (class-aware)', () => {
    expect(nms([b, a, c, d], 0.5)).toEqual([d, a, c]);
  });
  it('suppresses across classes when not class-aware', () => {
    expect(nms([b, a, c, d], 0.5, false)).toEqual([d, a]);
  });
  it('keeps boxes whose IoU is at or below the threshold', () => {
    expect(nms([a, b], 0.9)).toEqual([a, b]);
  });
});
