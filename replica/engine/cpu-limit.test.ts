import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { availableCpus, defaultIntraOpThreads } from './cpu-limit.js';
import { sessionOptions } from './load-session.js';

function cgroup(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'gpumux-cgroup-'));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  return root;
}

describe('availableCpus: the container CPU limit, not the host cores', () => {
  it.each([
    ['cgroup v2 quota of 4 CPUs on 64 cores', { 'cpu.max': '400000 100000\n' }, 64, 4],
    ['cgroup v2 fractional quota rounds up', { 'cpu.max': '150000 100000' }, 64, 2],
    ['cgroup v2 unlimited', { 'cpu.max': 'max 100000' }, 64, 64],
    ['quota above the host cores', { 'cpu.max': '3200000 100000' }, 8, 8],
    ['cgroup v1 quota', { 'cpu/cpu.cfs_quota_us': '200000', 'cpu/cpu.cfs_period_us': '100000' }, 64, 2],
    ['cgroup v1 unlimited (-1)', { 'cpu/cpu.cfs_quota_us': '-1', 'cpu/cpu.cfs_period_us': '100000' }, 64, 64],
    ['no cgroup files', {}, 12, 12],
  ])('%s', (_, files, hostCpus, expected) => {
    expect(availableCpus({ cgroupRoot: cgroup(files), hostCpus })).toBe(expected);
  });

  it.each([
    ['a 4-CPU quota on 64 cores', { 'cpu.max': '400000 100000' }, 64, 2],
    ['a 1.5-CPU quota (2 CPUs)', { 'cpu.max': '150000 100000' }, 64, 1],
    ['a 1-CPU quota', { 'cpu.max': '100000 100000' }, 64, 1],
    ['no quota on 12 cores', {}, 12, 6],
  ])("default intra-op threads from %s: half the container's CPUs", (_, files, hostCpus, expected) => {
    expect(defaultIntraOpThreads(availableCpus({ cgroupRoot: cgroup(files), hostCpus }))).toBe(expected);
  });

  it('sessionOptions uses them when no thread count is given', () => {
    expect(sessionOptions({ kind: 'cpu' }).intraOpNumThreads).toBe(defaultIntraOpThreads());
    expect(sessionOptions({ kind: 'cpu' }, 3).intraOpNumThreads).toBe(3);
  });
});
