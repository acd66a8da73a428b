import { describe, expect, it } from 'vitest';
import { createGpuHealth } from './feedback.js';
import { classifyFailure } from './orchestrators/types.js';

describe('failure feedback', () => {
  it.each<[string, 'oom' | 'crash']>([
    ['CUDA failure 2: out of memory', 'oom'],
    ['onnxruntime: CUDA_ERROR_OUT_OF_MEMORY', 'oom'],
    ['Failed to allocate memory for requested buffer of size 123', 'oom'],
    ['OOMKilled', 'crash'], // the word in a log is no reason: only the runtime's termination reason (below)
    ['Segmentation fault', 'crash'],
    ['', 'crash'],
  ])('classifies %j as %s', (text, kind) => expect(classifyFailure(text, 1).kind).toBe(kind));

  it('the runtime reason OOMKilled (exit 137) is host memory, named by the chart value to raise', () => {
    const failure = classifyFailure('', 137, 'OOMKilled');
    expect(failure.kind).toBe('host-oom');
    expect(failure.message).toContain('replica.resources.limits.memory');
  });

  it('cordons a GPU after repeated crashes within the window, for a while; OOMs do not count', () => {
    let now = 0;
    const health = createGpuHealth({
      crashThreshold: 3,
      windowMs: 60_000,
      cordonMs: 600_000,
      now: () => now,
    });
    const crash = classifyFailure('Segmentation fault', 139);
    const oom = classifyFailure('out of memory', 1);
    expect(health.recordFailure('n/0', oom)).toBe(false);
    expect(health.recordFailure('n/0', oom)).toBe(false);
    expect(health.recordFailure('n/0', crash)).toBe(false);
    now = 70_000; // the first crash left the window
    expect(health.recordFailure('n/0', crash)).toBe(false);
    expect(health.recordFailure('n/0', crash)).toBe(false);
    expect(health.recordFailure('n/0', crash)).toBe(true);
    expect(health.cordoned()).toEqual(['n/0']);
    now += 600_001;
    expect(health.cordoned()).toEqual([]);
  });
});
