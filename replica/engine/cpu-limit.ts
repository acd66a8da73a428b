import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * How many CPUs this process may really use: the host's (affinity-aware) count, capped by the cgroup's CPU
 * quota. In a pod with `resources.limits.cpu: 4` on a 64-core node, Node's `os.availableParallelism()` says 64;
 * ONNX Runtime with 32 intra-op threads on a 4-CPU quota is throttled every CFS period. cgroup v2's
 * `cpu.max` ("<quota> <period>" or "max <period>") is read first, then v1's `cpu.cfs_quota_us`/`cpu.cfs_period_us`.
 */
export function availableCpus(options: { cgroupRoot?: string; hostCpus?: number } = {}): number {
  const { cgroupRoot = '/sys/fs/cgroup', hostCpus = os.availableParallelism() } = options;
  const quota = cgroupCpuQuota(cgroupRoot);
  return quota === null ? hostCpus : Math.max(1, Math.min(hostCpus, Math.ceil(quota)));
}

/**
 * ONNX Runtime's intra-op threads unless told: half the CPUs this process may use (`availableCpus`, the
 * container's limit, not the node's cores), at least 1 — decode and HTTP need the rest.
 */
export function defaultIntraOpThreads(cpus: number = availableCpus()): number {
  return Math.max(1, Math.floor(cpus / 2));
}

/** The cgroup's CPU quota in CPUs (1.5 for "150000 100000"), or null when unlimited or unreadable. */
export function cgroupCpuQuota(cgroupRoot: string): number | null {
  const read = (file: string): string | null => {
    try {
      return readFileSync(path.join(cgroupRoot, file), 'utf8').trim();
    } catch {
      return null;
    }
  };
  const ratio = (quota: number, period: number): number | null =>
    Number.isFinite(quota) && Number.isFinite(period) && quota > 0 && period > 0 ? quota / period : null;
  const v2 = read('cpu.max');
  if (v2 !== null) {
    const [quota, period] = v2.split(/\s+/);
    return quota === 'max' ? null : ratio(Number(quota), Number(period ?? 100_000));
  }
  const v1Quota = read('cpu/cpu.cfs_quota_us') ?? read('cpu,cpuacct/cpu.cfs_quota_us');
  const v1Period = read('cpu/cpu.cfs_period_us') ?? read('cpu,cpuacct/cpu.cfs_period_us');
  return v1Quota === null || v1Period === null ? null : ratio(Number(v1Quota), Number(v1Period));
}
