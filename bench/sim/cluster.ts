import type { Pool } from 'undici';
import { parseGatewayConfig } from '../../gateway/config.js';
import { aggregateGpus, type GpuRecord } from '../../gateway/inventory/gpus.js';
import type { ReplicaRecord } from '../../gateway/inventory/records.js';
import { createRouter } from '../../gateway/routing/router.js';
import { newOutlierState } from '../../gateway/inventory/outlier.js';
import type { ReplicaStats } from '../../replica/contract.js';
import type { PlacedReplica } from '../../scheduler/types.js';
import { EventHeap } from './heap.js';

/**
 * A discrete-event model of a GPU cluster serving one detector:
 * - each replica runs one frame at a time: off-GPU pre-processing, GPU work, off-GPU post-processing
 *   (off-GPU = decode, copies, NMS: it uses the replica's own CPU and does not contend);
 * - GPU work is time-sliced: k replicas in their GPU phase on one GPU each progress at 1/k speed;
 * - memory: a replica holds `idleBytes` and, while in its GPU phase, `peakBytes`; when a GPU's sum passes its
 *   capacity the frame fails with an out-of-memory event (ONNX Runtime replicas hold their peak for life, so
 *   for them idle = peak and a footprint-aware plan can never OOM);
 * - routing: the gateway's REAL router (gateway/routing: filters → scorers → picker over ReplicaRecords,
 *   GPUs aggregated by gateway/inventory) with its default weights and capacity (2 × maxBatch outstanding),
 *   queueing at the gateway when all are saturated; or a Kubernetes Service's random pick (kube-proxy).
 */

export interface SimReplica extends PlacedReplica {
  idleBytes: number;
  peakBytes: number;
}

export interface SimOptions {
  gpus: { node: string; index: number; memoryBytes: number }[];
  replicas: SimReplica[];
  /** Seconds per frame on a free GPU, all phases (the seed's 0.2 s). */
  frameSeconds: number;
  /** Share of a frame's time spent off the GPU (0..1). */
  offGpuShare: number;
  routing: 'gpumux' | 'random';
  arrivals: number[];
  random: () => number;
  /** Frames waiting at the gateway beyond which it answers 429 (gpumux routing). */
  queueLimit?: number;
}

export interface SimResult {
  completed: number;
  failedOom: number;
  rejected: number;
  /** Frames per second over the run (first arrival to last completion). */
  throughput: number;
  p50: number;
  p95: number;
  p99: number;
  /** Σ footprints held (peak, or idle where lower) / Σ capacity. */
  memoryUtilization: number;
}

interface Frame {
  arrival: number;
  dispatched: number;
}

interface Replica {
  spec: SimReplica;
  gpu: Gpu;
  queue: Frame[];
  current: Frame | null;
  inGpu: boolean;
  record: ReplicaRecord;
}

interface Gpu {
  key: string;
  capacity: number;
  active: Map<Replica, number>; // remaining GPU work at full speed, seconds
  last: number;
  version: number;
  replicas: Replica[];
}

type Event =
  | { at: number; type: 'arrival' }
  | { at: number; type: 'pre-done'; replica: Replica }
  | { at: number; type: 'post-done'; replica: Replica }
  | { at: number; type: 'gpu'; gpu: Gpu; version: number };

function stats(replica: SimReplica, gpu: { memoryBytes: number }, usedBytes: number): ReplicaStats {
  return {
    replicaId: `${replica.node}/${replica.gpuIndex}/${replica.existingId ?? ''}`,
    model: replica.model,
    version: replica.version,
    state: 'ready',
    ready: true,
    device: {
      kind: 'cuda',
      node: replica.node,
      index: replica.gpuIndex,
      uuid: null,
      name: 'sim',
      memoryTotalBytes: gpu.memoryBytes,
      memoryUsedBytes: usedBytes,
      virtual: false,
    },
    footprint: { bytes: replica.footprintBytes, method: 'gpu-used-delta', peakBytes: replica.peakBytes },
    queueLength: 0,
    queueCapacity: 32,
    inFlight: 0,
    maxBatch: 1,
    ewmaServiceSeconds: 0,
    busyRatio: 0,
    processRssBytes: 0,
    startedAt: new Date(0).toISOString(),
    uptimeSeconds: 0,
    requestsTotal: 0,
    framesTotal: 0,
    errorsTotal: 0,
  };
}

const quantile = (sorted: number[], q: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;

export function simulate(options: SimOptions): SimResult {
  const { frameSeconds, offGpuShare, routing, random, queueLimit = 256 } = options;
  const gatewayConfig = parseGatewayConfig({});
  const reserveBytes = gatewayConfig.reserve;
  const router = createRouter({
    weights: gatewayConfig.routing.weights,
    picker: gatewayConfig.routing.picker,
    capacityOf: (r) => 2 * (r.measurement.stats?.maxBatch ?? 1),
  });

  const gpus = new Map<string, Gpu>();
  for (const g of options.gpus)
    gpus.set(`${g.node}/${g.index}`, {
      key: `${g.node}/${g.index}`,
      capacity: g.memoryBytes,
      active: new Map(),
      last: 0,
      version: 0,
      replicas: [],
    });
  const used = new Map<string, number>();
  for (const r of options.replicas)
    used.set(`${r.node}/${r.gpuIndex}`, (used.get(`${r.node}/${r.gpuIndex}`) ?? 0) + r.footprintBytes);
  const replicas: Replica[] = options.replicas.map((spec, i) => {
    const gpu = gpus.get(`${spec.node}/${spec.gpuIndex}`)!;
    const record: ReplicaRecord = {
      endpoint: { id: `r${i}`, url: `http://sim/${i}` },
      pool: {} as Pool, // never used: the simulation routes, it does not send
      measurement: {
        stats: stats(spec, { memoryBytes: gpu.capacity }, used.get(gpu.key)!),
        reachable: true,
        lastError: null,
        lastPolledAt: 0,
        ownInFlightAtPoll: 0,
      },
      traffic: { inFlight: 0, ewmaSeconds: 0 },
      outlier: newOutlierState(),
      gpuKey: gpu.key,
      modelKey: `${spec.model}:${spec.version}`,
    };
    const r: Replica = { spec, gpu, queue: [], current: null, inGpu: false, record };
    gpu.replicas.push(r);
    return r;
  });
  const records = replicas.map((r) => r.record);
  const byRecord = new Map(replicas.map((r) => [r.record, r]));

  const events = new EventHeap<Event>();
  for (const at of options.arrivals) events.push({ at, type: 'arrival' });
  const waiting: Frame[] = [];
  const latencies: number[] = [];
  let failedOom = 0;
  let rejected = 0;
  let lastDone = 0;
  const pre = (frameSeconds * offGpuShare) / 2;
  const gpuWork = frameSeconds * (1 - offGpuShare);

  const syncRecord = (r: Replica): void => {
    const outstanding = r.queue.length + (r.current ? 1 : 0);
    r.record.traffic.inFlight = outstanding;
    r.record.measurement.ownInFlightAtPoll = outstanding;
    const s = r.record.measurement.stats!;
    s.inFlight = outstanding;
    s.queueLength = r.queue.length;
  };

  const advance = (gpu: Gpu, now: number): void => {
    const k = gpu.active.size;
    if (k > 0) for (const [r, rem] of gpu.active) gpu.active.set(r, rem - (now - gpu.last) / k);
    gpu.last = now;
  };
  const reschedule = (gpu: Gpu, now: number): void => {
    gpu.version++;
    if (gpu.active.size === 0) return;
    const min = Math.min(...gpu.active.values());
    events.push({ at: now + Math.max(0, min) * gpu.active.size, type: 'gpu', gpu, version: gpu.version });
  };

  const start = (r: Replica, now: number): void => {
    if (r.current || r.queue.length === 0) return;
    r.current = r.queue.shift()!;
    events.push({ at: now + pre, type: 'pre-done', replica: r });
  };
  const finish = (r: Replica, now: number, ok: boolean): void => {
    const frame = r.current!;
    r.current = null;
    if (ok) {
      latencies.push(now - frame.arrival);
      lastDone = now;
      const t = r.record.traffic;
      t.ewmaSeconds =
        t.ewmaSeconds === 0 ? now - frame.dispatched : 0.8 * t.ewmaSeconds + 0.2 * (now - frame.dispatched);
    }
    syncRecord(r);
    start(r, now);
    syncRecord(r);
    while (waiting.length > 0 && dispatch(waiting[0]!, now)) waiting.shift();
  };

  const dispatch = (frame: Frame, now: number): boolean => {
    let target: Replica;
    if (routing === 'random') {
      target = replicas[Math.floor(random() * replicas.length)]!;
    } else {
      const gpuRecords: Map<string, GpuRecord> = aggregateGpus(
        records,
        reserveBytes,
        gatewayConfig.routing.criticalHeadroom,
      );
      const res = router.route(records, {
        model: 'codetr',
        version: null,
        now: now * 1000,
        gpuOf: (x) => (x.gpuKey ? gpuRecords.get(x.gpuKey) : undefined),
      });
      if (res.kind !== 'replica') return false;
      target = byRecord.get(res.replica)!;
    }
    frame.dispatched = now;
    target.queue.push(frame);
    start(target, now);
    syncRecord(target);
    return true;
  };

  for (let e = events.pop(); e; e = events.pop()) {
    const now = e.at;
    switch (e.type) {
      case 'arrival': {
        const frame = { arrival: now, dispatched: now };
        if (!dispatch(frame, now)) {
          if (waiting.length >= queueLimit) rejected++;
          else waiting.push(frame);
        }
        break;
      }
      case 'pre-done': {
        const r = e.replica;
        const gpu = r.gpu;
        advance(gpu, now);
        r.inGpu = true;
        const memory = gpu.replicas.reduce((s, x) => s + (x.inGpu ? x.spec.peakBytes : x.spec.idleBytes), 0);
        if (memory > gpu.capacity) {
          // CUDA out of memory: this frame fails (its replica survives in this model).
          r.inGpu = false;
          failedOom++;
          finish(r, now, false);
          break;
        }
        gpu.active.set(r, gpuWork);
        reschedule(gpu, now);
        break;
      }
      case 'gpu': {
        const gpu = e.gpu;
        if (e.version !== gpu.version) break;
        advance(gpu, now);
        for (const [r, rem] of [...gpu.active]) {
          if (rem > 1e-9) continue;
          gpu.active.delete(r);
          r.inGpu = false;
          events.push({ at: now + pre, type: 'post-done', replica: r });
        }
        reschedule(gpu, now);
        break;
      }
      case 'post-done':
        finish(e.replica, now, true);
        break;
    }
  }

  latencies.sort((a, b) => a - b);
  const capacity = options.gpus.reduce((s, g) => s + g.memoryBytes, 0);
  const held = options.replicas.reduce((s, r) => s + r.footprintBytes, 0);
  const first = options.arrivals[0] ?? 0;
  return {
    completed: latencies.length,
    failedOom,
    rejected,
    throughput: latencies.length / Math.max(1e-9, lastDone - first),
    p50: quantile(latencies, 0.5),
    p95: quantile(latencies, 0.95),
    p99: quantile(latencies, 0.99),
    memoryUtilization: held / capacity,
  };
}
