import type { Pool } from 'undici';
import { parseGatewayConfig } from '../../gateway/config.js';
import { aggregateGpus, type GpuRecord } from '../../gateway/inventory/gpus.js';
import type { ReplicaRecord } from '../../gateway/inventory/records.js';
import { createRouter } from '../../gateway/routing/router.js';
import { newOutlierState } from '../../gateway/inventory/outlier-state.js';
import type { ReplicaStats } from '../../replica/contract.js';
import type { PlacedReplica } from '../../scheduler/types.js';
import { EventHeap } from './heap.js';

/**
 * A discrete-event model of a GPU cluster serving detectors:
 * - a frame on a replica has three phases: off-GPU pre-processing (decode, resize, copy in), GPU work,
 *   off-GPU post-processing (copy out, NMS). Off-GPU work uses the replica's own CPU and does not contend;
 * - `pipelined` (gpumux's replica: the engine runs in a worker thread, so decode and post-processing of
 *   other frames overlap with inference): pre/post of several frames run at once, one GPU run at a time per
 *   replica. Not pipelined (FastAPI + PyTorch, sequential MMDet inference): one frame at a time, all phases;
 * - GPU work is time-sliced: k replicas in their GPU phase on one GPU each progress at 1/k speed;
 * - memory: a replica holds `idleBytes` and, while in its GPU phase, `peakBytes`; when a GPU's sum passes its
 *   capacity the frame fails with an out-of-memory event (ONNX Runtime replicas hold their peak for life, so
 *   for them idle = peak and a footprint-aware plan can never OOM);
 * - routing: the gateway's REAL router (gateway/routing: filters → scorers → picker over ReplicaRecords,
 *   GPUs aggregated by gateway/inventory) with its default weights and capacity (2 × maxBatch outstanding),
 *   queueing at the gateway when all are saturated; replicas' `busyRatio` refreshed every simulated second
 *   as the replica reports it (share of the last second in its GPU phase), so the GPU-contention scorer sees
 *   what it sees in production; or a Kubernetes Service's random pick (kube-proxy).
 */

export interface SimReplica extends PlacedReplica {
  idleBytes: number;
  peakBytes: number;
}

export interface SimModel {
  name: string;
  /** Seconds per frame on a free GPU, all phases (the seed's 0.2 s for Co-DETR). */
  frameSeconds: number;
  /** Share of a frame's time spent off the GPU (0..1). */
  offGpuShare: number;
}

export interface SimOptions {
  gpus: { node: string; index: number; memoryBytes: number }[];
  models: SimModel[];
  replicas: SimReplica[];
  routing: 'gpumux' | 'random';
  /** Decode/post-processing overlapped with inference (gpumux's replica). */
  pipelined: boolean;
  arrivals: { at: number; model: string }[];
  random: () => number;
  /** Frames waiting at the gateway per model beyond which it answers 429 (gpumux routing). */
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
  /** Mean over GPUs of the share of time at least one replica was in its GPU phase. */
  computeUtilization: number;
}

interface Frame {
  arrival: number;
  dispatched: number;
  model: string;
}

interface Replica {
  spec: SimReplica;
  model: SimModel;
  gpu: Gpu;
  /** Frames dispatched here and not finished. */
  outstanding: number;
  /** Sequential replicas: frames waiting for the replica. */
  waiting: Frame[];
  /** Frames done with pre-processing, waiting for the replica's one GPU run. */
  gpuQueue: Frame[];
  inGpu: Frame | null;
  gpuSince: number;
  busySeconds: number;
  record: ReplicaRecord;
}

interface Gpu {
  key: string;
  capacity: number;
  active: Map<Replica, number>; // remaining GPU work at full speed, seconds
  last: number;
  version: number;
  replicas: Replica[];
  busySeconds: number;
}

type Event =
  | { at: number; type: 'arrival'; model: string }
  | { at: number; type: 'pre-done'; replica: Replica; frame: Frame }
  | { at: number; type: 'post-done'; replica: Replica; frame: Frame }
  | { at: number; type: 'gpu'; gpu: Gpu; version: number }
  | { at: number; type: 'poll' };

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
      utilizationRatio: null,
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
  const { routing, random, pipelined, queueLimit = 256 } = options;
  const gatewayConfig = parseGatewayConfig({});
  const reserveBytes = gatewayConfig.reserve;
  const router = createRouter({
    weights: gatewayConfig.routing.weights,
    picker: gatewayConfig.routing.picker,
    capacityOf: (r) => 2 * (r.measurement.stats?.maxBatch ?? 1),
  });
  const modelByName = new Map(options.models.map((m) => [m.name, m]));

  const gpus = new Map<string, Gpu>();
  for (const g of options.gpus)
    gpus.set(`${g.node}/${g.index}`, {
      key: `${g.node}/${g.index}`,
      capacity: g.memoryBytes,
      active: new Map(),
      last: 0,
      version: 0,
      replicas: [],
      busySeconds: 0,
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
    const r: Replica = {
      spec,
      model: modelByName.get(spec.model)!,
      gpu,
      outstanding: 0,
      waiting: [],
      gpuQueue: [],
      inGpu: null,
      gpuSince: 0,
      busySeconds: 0,
      record,
    };
    gpu.replicas.push(r);
    return r;
  });
  const records = replicas.map((r) => r.record);
  const byRecord = new Map(replicas.map((r) => [r.record, r]));
  const byModel = new Map(
    options.models.map((m) => [m.name, replicas.filter((r) => r.spec.model === m.name)]),
  );

  const events = new EventHeap<Event>();
  for (const a of options.arrivals) events.push({ at: a.at, type: 'arrival', model: a.model });
  const end = options.arrivals[options.arrivals.length - 1]?.at ?? 0;
  for (let t = 1; t < end; t += 1) events.push({ at: t, type: 'poll' });
  const waiting = new Map(options.models.map((m) => [m.name, [] as Frame[]]));
  const latencies: number[] = [];
  let failedOom = 0;
  let rejected = 0;
  let lastDone = 0;
  const pre = (m: SimModel): number => (m.frameSeconds * m.offGpuShare) / 2;
  const gpuWork = (m: SimModel): number => m.frameSeconds * (1 - m.offGpuShare);

  const syncRecord = (r: Replica): void => {
    r.record.traffic.inFlight = r.outstanding;
    r.record.measurement.ownInFlightAtPoll = r.outstanding;
    const s = r.record.measurement.stats!;
    s.inFlight = r.outstanding;
    s.queueLength = r.waiting.length + r.gpuQueue.length;
  };

  const advance = (gpu: Gpu, now: number): void => {
    const k = gpu.active.size;
    if (k > 0) {
      for (const [r, rem] of gpu.active) gpu.active.set(r, rem - (now - gpu.last) / k);
      gpu.busySeconds += now - gpu.last;
    }
    gpu.last = now;
  };
  const reschedule = (gpu: Gpu, now: number): void => {
    gpu.version++;
    if (gpu.active.size === 0) return;
    const min = Math.min(...gpu.active.values());
    events.push({ at: now + Math.max(0, min) * gpu.active.size, type: 'gpu', gpu, version: gpu.version });
  };

  /** Starts the replica's next GPU run, if it has none and a frame waits for one. */
  const startGpu = (r: Replica, now: number): void => {
    if (r.inGpu || r.gpuQueue.length === 0) return;
    const frame = r.gpuQueue.shift()!;
    const gpu = r.gpu;
    advance(gpu, now);
    r.inGpu = frame;
    const memory = gpu.replicas.reduce((s, x) => s + (x.inGpu ? x.spec.peakBytes : x.spec.idleBytes), 0);
    if (memory > gpu.capacity) {
      // CUDA out of memory: this frame fails (its replica survives in this model).
      r.inGpu = null;
      failedOom++;
      finish(r, frame, now, false);
      return startGpu(r, now);
    }
    r.gpuSince = now;
    gpu.active.set(r, gpuWork(r.model));
    reschedule(gpu, now);
  };
  const startFrame = (r: Replica, frame: Frame, now: number): void => {
    events.push({ at: now + pre(r.model), type: 'pre-done', replica: r, frame });
  };
  const finish = (r: Replica, frame: Frame, now: number, ok: boolean): void => {
    r.outstanding--;
    if (ok) {
      latencies.push(now - frame.arrival);
      lastDone = now;
      const t = r.record.traffic;
      t.ewmaSeconds =
        t.ewmaSeconds === 0 ? now - frame.dispatched : 0.8 * t.ewmaSeconds + 0.2 * (now - frame.dispatched);
    }
    if (!pipelined && r.waiting.length > 0) startFrame(r, r.waiting.shift()!, now);
    syncRecord(r);
    const queue = waiting.get(frame.model)!;
    while (queue.length > 0 && dispatch(queue[0]!, now)) queue.shift();
  };

  const dispatch = (frame: Frame, now: number): boolean => {
    let target: Replica;
    if (routing === 'random') {
      const candidates = byModel.get(frame.model)!;
      target = candidates[Math.floor(random() * candidates.length)]!;
    } else {
      const gpuRecords: Map<string, GpuRecord> = aggregateGpus(
        records,
        reserveBytes,
        gatewayConfig.routing.criticalHeadroom,
      );
      const res = router.route(records, {
        model: frame.model,
        version: null,
        now: now * 1000,
        gpuOf: (x) => (x.gpuKey ? gpuRecords.get(x.gpuKey) : undefined),
      });
      if (res.kind !== 'replica') return false;
      target = byRecord.get(res.replica)!;
    }
    frame.dispatched = now;
    target.outstanding++;
    if (pipelined || target.outstanding === 1) startFrame(target, frame, now);
    else target.waiting.push(frame);
    syncRecord(target);
    return true;
  };

  for (let e = events.pop(); e; e = events.pop()) {
    const now = e.at;
    switch (e.type) {
      case 'arrival': {
        const frame = { arrival: now, dispatched: now, model: e.model };
        if (!dispatch(frame, now)) {
          const queue = waiting.get(e.model)!;
          if (queue.length >= queueLimit) rejected++;
          else queue.push(frame);
        }
        break;
      }
      case 'pre-done':
        e.replica.gpuQueue.push(e.frame);
        startGpu(e.replica, now);
        break;
      case 'gpu': {
        const gpu = e.gpu;
        if (e.version !== gpu.version) break;
        advance(gpu, now);
        for (const [r, rem] of [...gpu.active]) {
          if (rem > 1e-9) continue;
          gpu.active.delete(r);
          r.busySeconds += now - r.gpuSince;
          const frame = r.inGpu!;
          r.inGpu = null;
          events.push({ at: now + pre(r.model), type: 'post-done', replica: r, frame });
          startGpu(r, now);
        }
        reschedule(gpu, now);
        break;
      }
      case 'post-done':
        finish(e.replica, e.frame, now, true);
        break;
      case 'poll':
        // What each replica would report as busyRatio: its share of the last second inside the GPU phase.
        for (const r of replicas) {
          const inGpu = r.inGpu ? now - r.gpuSince : 0;
          r.record.measurement.stats!.busyRatio = Math.min(1, Math.max(0, r.busySeconds + inGpu));
          r.busySeconds = -inGpu;
        }
        break;
    }
  }

  latencies.sort((a, b) => a - b);
  const capacity = options.gpus.reduce((s, g) => s + g.memoryBytes, 0);
  const held = options.replicas.reduce((s, r) => s + r.footprintBytes, 0);
  const first = options.arrivals[0]?.at ?? 0;
  const span = Math.max(1e-9, lastDone - first);
  return {
    completed: latencies.length,
    failedOom,
    rejected,
    throughput: latencies.length / span,
    p50: quantile(latencies, 0.5),
    p95: quantile(latencies, 0.95),
    p99: quantile(latencies, 0.99),
    memoryUtilization: held / capacity,
    computeUtilization: [...gpus.values()].reduce((s, g) => s + g.busySeconds, 0) / (gpus.size * span),
  };
}
