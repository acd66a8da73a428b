import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { availableCpus } from './cpu-limit.js';
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

  it("sessionOptions' default intra-op threads follow it", () => {
    expect(sessionOptions({ kind: 'cpu' }).intraOpNumThreads).toBe(
      Math.max(1, Math.floor(availableCpus() / 2)),
    );
  });
});
