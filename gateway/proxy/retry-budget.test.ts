import { describe, expect, it } from 'vitest';
import { createRetryBudget } from './retry-budget.js';

function budget(ratio = 0.2, min = 3) {
  let t = 0;
  const b = createRetryBudget({ ratio, min, windowMs: 10_000, now: () => t });
  return { b, advance: (ms: number) => void (t += ms) };
}

function retriesAllowed(b: ReturnType<typeof createRetryBudget>, model = 'm'): number {
  let n = 0;
  while (b.withdraw(model)) n++;
  return n;
}

describe('retry budget', () => {
  it('a trickle can retry: the minimum holds with no traffic', () => {
    const { b } = budget();
    expect(b.allows('m')).toBe(true);
    expect(retriesAllowed(b)).toBe(3);
    expect(b.allows('m')).toBe(false);
  });

  it('under load, at most ratio × requests in the window', () => {
    const { b } = budget();
    for (let i = 0; i < 100; i++) b.request('m');
    expect(retriesAllowed(b)).toBe(20);
  });

  it('is per model', () => {
    const { b } = budget();
    for (let i = 0; i < 100; i++) b.request('busy');
    expect(retriesAllowed(b, 'busy')).toBe(20);
    expect(retriesAllowed(b, 'quiet')).toBe(3);
  });

  it('slides: requests and retries older than the window stop counting', () => {
    const { b, advance } = budget();
    for (let i = 0; i < 100; i++) b.request('m');
    expect(retriesAllowed(b)).toBe(20);
    advance(5_000);
    expect(b.allows('m')).toBe(false); // both still in the window
    for (let i = 0; i < 50; i++) b.request('m');
    expect(retriesAllowed(b)).toBe(10); // 150 requests → 30, 20 spent
    advance(6_000); // the first 100 requests and 20 retries left the window
    expect(retriesAllowed(b)).toBe(0); // 50 requests → 10, 10 spent
    advance(30_000);
    expect(retriesAllowed(b)).toBe(3); // all gone: the minimum
  });

  it('ratio 0 and min 0: no retries at all', () => {
    const { b } = budget(0, 0);
    b.request('m');
    expect(b.withdraw('m')).toBe(false);
  });
});
