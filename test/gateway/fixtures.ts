import { Pool } from 'undici';
import type { ReplicaStats } from '../../replica/contract.js';
import { aggregateGpus, type GpuRecord } from '../../gateway/inventory/gpus.js';
import { gpuKeyOf, modelKeyOf, newRecord, type ReplicaRecord } from '../../gateway/inventory/records.js';
import type { RoutingContext } from '../../gateway/routing/types.js';
import { reportedDevice } from './fake-replica.js';

/** Test fixtures: records as the inventory would hold them after a poll (the pool is never connected). */
export function statsFor(
  overrides: Partial<ReplicaStats> & {
    gpu?: [node: string, index: number] | null;
    usedBytes?: number;
    capacityBytes?: number;
  } = {},
): ReplicaStats {
  const { gpu = ['node-a', 0], usedBytes, capacityBytes = 24 * 1024 ** 3, ...rest } = overrides;
  const footprint = rest.footprint?.bytes ?? 2 * 1024 ** 3;
  return {
    replicaId: 'r',
    model: 'shapes',
    version: '1',
    state: 'ready',
    ready: true,
    device: reportedDevice(gpu && { node: gpu[0], index: gpu[1], capacityBytes }, usedBytes ?? footprint),
    footprint: { bytes: footprint, method: 'configured', peakBytes: footprint },
    queueLength: 0,
    queueCapacity: 64,
    inFlight: 0,
    maxBatch: 8,
    ewmaServiceSeconds: 0,
    busyRatio: 0,
    processRssBytes: 1e8,
    startedAt: '2026-01-01T00:00:00Z',
    uptimeSeconds: 1,
    requestsTotal: 0,
    framesTotal: 0,
    errorsTotal: 0,
    ...rest,
  };
}

/** An RTX 4090 (gpu-a/0 unless told) as a replica on it reports it in /v1/stats. */
export const rtx4090 = (
  uuid: string,
  memoryUsedBytes: number,
  node = 'gpu-a',
  index = 0,
): ReplicaStats['device'] => ({
  kind: 'cuda',
  node,
  index,
  uuid,
  name: 'NVIDIA GeForce RTX 4090',
  memoryTotalBytes: 24564 * 2 ** 20,
  memoryUsedBytes,
  virtual: false,
});

const unusedPool = new Pool('http://127.0.0.1:9');

export function record(
  id: string,
  stats: ReplicaStats | null,
  traffic: Partial<ReplicaRecord['traffic']> = {},
  outlier: Partial<ReplicaRecord['outlier']> = {},
): ReplicaRecord {
  const r = newRecord({ id, url: `http://${id}.invalid:8081` }, unusedPool);
  if (stats) {
    r.measurement = { stats, reachable: true, lastError: null, lastPolledAt: 0, ownInFlightAtPoll: 0 };
    r.gpuKey = gpuKeyOf(stats);
    r.modelKey = modelKeyOf(stats.model, stats.version);
  }
  Object.assign(r.traffic, traffic);
  Object.assign(r.outlier, outlier);
  return r;
}

export function contextFor(
  records: readonly ReplicaRecord[],
  {
    model = 'shapes',
    version = null,
    reserveBytes = 512 * 1024 ** 2,
    criticalHeadroomBytes = 0,
  }: { model?: string; version?: string | null; reserveBytes?: number; criticalHeadroomBytes?: number } = {},
): RoutingContext & { gpus: Map<string, GpuRecord> } {
  const gpus = aggregateGpus(records, reserveBytes, criticalHeadroomBytes);
  return { model, version, now: 0, gpus, gpuOf: (r) => (r.gpuKey ? gpus.get(r.gpuKey) : undefined) };
}
