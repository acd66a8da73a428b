import { outstanding, type ReplicaRecord } from './records.js';

/** One GPU as the gateway accounts for it (HAMi's DeviceUsage idea): the unit routing and operators see. */
export interface GpuRecord {
  key: string;
  node: string;
  index: number | null;
  name: string | null;
  kind: 'cuda' | 'virtual' | 'cpu';
  capacityBytes: number;
  usedBytes: number;
  reserveBytes: number;
  /** capacity − used − reserve, ≥ 0. */
  headroomBytes: number;
  /** No memory information (CPU replicas): never critical. */
  critical: boolean;
  replicas: ReplicaRecord[];
}

/**
 * Groups replicas by GPU and derives its memory:
 * - capacity: the largest memoryTotalBytes any of its replicas reports;
 * - used on `cuda`: the largest memoryUsedBytes reported (each replica reads the same nvidia-smi number;
 *   the largest is the freshest upper bound);
 * - used on `virtual`: at least the largest reported memoryUsedBytes, and at least the sum of its replicas'
 *   footprints plus the largest "used by others" any of them reports (reported used − own footprint), so
 *   replicas that started with different views of the GPU never hide each other.
 */
export function aggregateGpus(
  records: Iterable<ReplicaRecord>,
  reserveBytes: number,
  criticalHeadroomBytes: number,
): Map<string, GpuRecord> {
  const gpus = new Map<string, GpuRecord>();
  const footprintSum = new Map<string, number>();
  const othersMax = new Map<string, number>();
  for (const r of records) {
    const s = r.measurement.stats;
    if (!s || !r.gpuKey) continue;
    let g = gpus.get(r.gpuKey);
    if (!g) {
      g = {
        key: r.gpuKey,
        node: s.device.node,
        index: s.device.index,
        name: s.device.name,
        kind: s.device.kind,
        capacityBytes: 0,
        usedBytes: 0,
        reserveBytes: s.device.kind === 'cpu' ? 0 : reserveBytes,
        headroomBytes: 0,
        critical: false,
        replicas: [],
      };
      gpus.set(r.gpuKey, g);
    }
    g.replicas.push(r);
    g.capacityBytes = Math.max(g.capacityBytes, s.device.memoryTotalBytes ?? 0);
    const used = s.device.memoryUsedBytes ?? 0;
    g.usedBytes = Math.max(g.usedBytes, used);
    footprintSum.set(g.key, (footprintSum.get(g.key) ?? 0) + s.footprint.bytes);
    othersMax.set(g.key, Math.max(othersMax.get(g.key) ?? 0, Math.max(0, used - s.footprint.bytes)));
  }
  for (const g of gpus.values()) {
    if (g.kind === 'virtual') {
      g.usedBytes = Math.max(g.usedBytes, (footprintSum.get(g.key) ?? 0) + (othersMax.get(g.key) ?? 0));
    }
    g.headroomBytes = Math.max(0, g.capacityBytes - g.usedBytes - g.reserveBytes);
    g.critical = g.kind !== 'cpu' && g.capacityBytes > 0 && g.headroomBytes <= criticalHeadroomBytes;
    g.replicas.sort((a, b) => (a.endpoint.id < b.endpoint.id ? -1 : a.endpoint.id > b.endpoint.id ? 1 : 0));
  }
  return gpus;
}

/** Replicas on this GPU with outstanding work. */
export function busyReplicas(g: GpuRecord): number {
  let n = 0;
  for (const r of g.replicas) if (outstanding(r) > 0) n++;
  return n;
}

export function gpuInFlight(g: GpuRecord): number {
  let n = 0;
  for (const r of g.replicas) n += outstanding(r);
  return n;
}
