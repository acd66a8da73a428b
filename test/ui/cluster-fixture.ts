import type { ClusterView, GpuView, ReplicaView } from '../../gateway/operator/cluster-view.js';

const GiB = 1024 ** 3;

export function replica(id: string, overrides: Partial<ReplicaView> = {}): ReplicaView {
  return {
    id,
    url: `http://127.0.0.1:0/${id}`,
    model: 'shapes',
    version: '1',
    state: 'ready',
    footprintBytes: 2 * GiB,
    inFlight: 0,
    queueLength: 0,
    ewmaServiceSeconds: 0.012,
    ejected: false,
    consecutiveFailures: 0,
    ...overrides,
  };
}

export function gpu(
  node: string,
  index: number,
  replicas: ReplicaView[],
  totalBytes = 8 * GiB,
  reservedBytes = 0,
  computeUtilization: number | null = replicas.length > 0 ? 0.5 : null,
): GpuView {
  const used = replicas.reduce((sum, r) => sum + r.footprintBytes, 0);
  return {
    id: `virtual-${node}-${index}`,
    node,
    index,
    name: null,
    virtual: true,
    memoryTotalBytes: totalBytes,
    memoryUsedBytes: used,
    memoryReservedBytes: reservedBytes,
    memoryHeadroomBytes: Math.max(0, totalBytes - used - reservedBytes),
    memoryUtilization: used / totalBytes,
    computeUtilization,
    computeSource: computeUtilization === null ? null : 'busy-ratio',
    critical: false,
    inFlight: replicas.reduce((sum, r) => sum + r.inFlight, 0),
    busyReplicas: replicas.filter((r) => r.inFlight > 0).length,
    replicas,
  };
}

/** A hand-built ClusterView, for tests of the page alone (the end-to-end test uses the real stack). */
export function clusterView(gpus: GpuView[], extra: Partial<ClusterView> = {}): ClusterView {
  const total = gpus.reduce((s, g) => s + g.memoryTotalBytes, 0);
  const used = gpus.reduce((s, g) => s + g.memoryUsedBytes, 0);
  const replicas = gpus.flatMap((g) => g.replicas);
  return {
    generatedAt: new Date().toISOString(),
    totals: {
      gpus: gpus.length,
      replicas: replicas.length,
      readyReplicas: replicas.filter((r) => r.state === 'ready').length,
      memoryTotalBytes: total,
      memoryUsedBytes: used,
      memoryHeadroomBytes: gpus.reduce((s, g) => s + g.memoryHeadroomBytes, 0),
      memoryUtilization: total === 0 ? 0 : used / total,
      computeUtilization:
        gpus.length === 0 ? null : gpus.reduce((s, g) => s + (g.computeUtilization ?? 0), 0) / gpus.length,
    },
    gpus,
    unplaced: [],
    models: [
      {
        name: 'shapes',
        version: '1',
        replicas: replicas.length,
        readyReplicas: replicas.length,
        requestRate: 0,
        p95Seconds: null,
        errorRate: 0,
        queued: 0,
      },
    ],
    plan: null,
    ...extra,
  };
}
