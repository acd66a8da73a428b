import { describe, expect, it } from 'vitest';
import { contextFor, record, statsFor } from '../../../test/gateway/fixtures.js';
import { gpuMemoryFilter } from './gpu-memory.js';

const GiB = 1024 ** 3;

describe('gpuMemoryFilter', () => {
  const roomy = record('roomy', statsFor({ gpu: ['a', 0] }));
  // 23.9 GiB used by others + 2 GiB footprint on a 24 GiB GPU: no headroom left.
  const full = record('full', statsFor({ gpu: ['a', 1], usedBytes: 23.9 * GiB + 2 * GiB }));

  it('avoids replicas on a GPU with critical headroom while others can serve', () => {
    expect(gpuMemoryFilter.filter([roomy, full], contextFor([roomy, full]))).toEqual([roomy]);
  });

  it('keeps them when every candidate is critical (soft filter)', () => {
    expect(gpuMemoryFilter.filter([full], contextFor([full]))).toEqual([full]);
  });

  it('never treats CPU replicas (no GPU memory) as critical', () => {
    const cpu = record('cpu', statsFor({ gpu: null }));
    expect(gpuMemoryFilter.filter([cpu, full], contextFor([cpu, full]))).toEqual([cpu]);
  });

  it('honours a configured critical threshold', () => {
    const ctx = contextFor([roomy], { criticalHeadroomBytes: 30 * GiB });
    expect(ctx.gpuOf(roomy)?.critical).toBe(true);
  });
});
