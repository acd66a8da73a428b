import { describe, expect, it } from 'vitest';
import { createAutoscaler, type DemandInput } from './autoscale.js';

const input = (over: Partial<DemandInput>): DemandInput => ({
  model: 'm',
  current: 2,
  inFlight: 0,
  readyReplicas: 2,
  minReplicas: 1,
  maxReplicas: 6,
  targetInFlightPerReplica: 2,
  ...over,
});

describe('autoscaler', () => {
  it('scales up to what the target needs, within max, then waits for the cool-down', () => {
    let now = 0;
    const a = createAutoscaler({ scaleUpCooldownMs: 30_000, scaleDownCooldownMs: 300_000, now: () => now });
    expect(a.desired(input({ inFlight: 9 })).replicas).toBe(5);
    now = 10_000;
    expect(a.desired(input({ current: 5, readyReplicas: 5, inFlight: 40 })).replicas).toBe(5);
    now = 40_000;
    expect(a.desired(input({ current: 5, readyReplicas: 5, inFlight: 40 })).replicas).toBe(6);
  });

  it('scales down one at a time below half the target, never under min', () => {
    let now = 1_000_000;
    const a = createAutoscaler({ scaleUpCooldownMs: 30_000, scaleDownCooldownMs: 300_000, now: () => now });
    expect(a.desired(input({ current: 3, readyReplicas: 3, inFlight: 1 })).replicas).toBe(2);
    now += 1000;
    expect(a.desired(input({ current: 2, inFlight: 0 })).replicas).toBe(2);
    now += 300_000;
    expect(a.desired(input({ current: 2, inFlight: 0 })).replicas).toBe(1);
    now += 300_000;
    expect(a.desired(input({ current: 1, readyReplicas: 1, inFlight: 0 })).replicas).toBe(1);
  });

  it('holds steady between half and the target, and with no ready replica', () => {
    const a = createAutoscaler({ scaleUpCooldownMs: 0, scaleDownCooldownMs: 0 });
    expect(a.desired(input({ inFlight: 3 })).replicas).toBe(2);
    expect(a.desired(input({ readyReplicas: 0, inFlight: 0 })).replicas).toBe(2);
  });
});

describe('autoscaler with the gateway’s signals', () => {
  const a = (): ReturnType<typeof createAutoscaler> =>
    createAutoscaler({ scaleUpCooldownMs: 0, scaleDownCooldownMs: 0 });

  it.each<[string, Partial<DemandInput>, number]>([
    ['requests queued at the gateway count as outstanding work', { inFlight: 4, queued: 6 }, 5],
    ['a queue alone, replicas idle, scales up', { inFlight: 0, queued: 9 }, 5],
    ['no ready replica but clients waiting: scale up from the queue', { readyReplicas: 0, current: 1, queued: 6 }, 3],
    ['p95 above the latency target adds one', { inFlight: 3, p95Seconds: 0.8, targetP95Seconds: 0.5 }, 3],
    ['p95 within the target: steady', { inFlight: 3, p95Seconds: 0.4, targetP95Seconds: 0.5 }, 2],
    ['a queued request blocks scale-down', { inFlight: 0, queued: 1, current: 3, readyReplicas: 3 }, 3],
    ['idle with nothing queued scales down', { inFlight: 0, queued: 0, current: 3, readyReplicas: 3 }, 2],
  ])('%s', (_name, over, expected) => expect(a().desired(input(over)).replicas).toBe(expected)); // prettier-ignore

  it('keeps the scale-up cool-down for queue-driven changes', () => {
    let now = 0;
    const s = createAutoscaler({ scaleUpCooldownMs: 30_000, scaleDownCooldownMs: 0, now: () => now });
    expect(s.desired(input({ queued: 10 })).replicas).toBe(5);
    now = 10_000;
    expect(s.desired(input({ current: 5, readyReplicas: 5, queued: 20 })).replicas).toBe(5);
    now = 30_000;
    expect(s.desired(input({ current: 5, readyReplicas: 5, queued: 20 })).replicas).toBe(6);
  });
});
