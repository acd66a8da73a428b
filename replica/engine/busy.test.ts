import { describe, expect, it } from 'vitest';
import { createBusyTracker } from './busy.js';

describe('createBusyTracker', () => {
  it('reports the share of the window spent running, including a run in progress', () => {
    let t = 0;
    const busy = createBusyTracker({ windowMs: 1000, now: () => t });
    expect(busy.ratio()).toBe(0);
    busy.start();
    t = 200;
    busy.stop(); // 0..200
    t = 500;
    busy.start();
    t = 600; // 500..600 still running
    expect(busy.ratio()).toBeCloseTo(0.3, 12);
    t = 1400; // window 400..1400: the first run fell out; the running one covers 500..1400
    expect(busy.ratio()).toBeCloseTo(0.9, 12);
    busy.stop();
    t = 3000;
    expect(busy.ratio()).toBe(0);
  });

  it('ignores stop() without start() and a second start()', () => {
    let t = 0;
    const busy = createBusyTracker({ windowMs: 100, now: () => t });
    busy.stop();
    busy.start();
    t = 50;
    busy.start();
    t = 100;
    busy.stop();
    expect(busy.ratio()).toBe(1);
  });
});
