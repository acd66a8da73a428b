import { describe, expect, it } from 'vitest';
import { createRequestWindow } from './request-window.js';

describe('request window', () => {
  it('rate, p95 and error rate over the last window only', () => {
    let now = 0;
    const w = createRequestWindow({ windowMs: 10_000, now: () => now });
    w.record('m', 5, true); // falls out of the window below
    now = 20_000;
    for (let i = 1; i <= 100; i++) w.record('m', i / 100, i % 10 === 0);
    const s = w.stats('m');
    expect(s.requestRate).toBeCloseTo(10);
    expect(s.p95Seconds).toBeCloseTo(0.95);
    expect(s.errorRate).toBeCloseTo(0.1);
    expect(w.stats('other')).toEqual({ requestRate: 0, p95Seconds: null, errorRate: 0 });
  });
});
