import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EngineHooks } from '../engine/types.js';
import type { ReplicaStats } from '../contract.js';

/**
 * The replica's Prometheus metrics, in a registry of its own (never prom-client's global one, so that tests
 * and in-process stacks can hold several replicas). Names carry units; every metric has help text.
 *
 * Counters and histograms are fed by the HTTP layer (`observeRequest`) and by the engine through `hooks`;
 * gauges read the engine's live stats at scrape time, so they are never stale.
 *
 * @example
 * const metrics = createReplicaMetrics({ model: 'shapes', version: '1', maxBatch: 8 });
 * const engine = createEngine({ ..., hooks: metrics.hooks });
 * metrics.bindStats(() => engine.stats());
 * app.get('/metrics', async (c) => c.text(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }));
 */
export interface ReplicaMetricsOptions {
  model: string;
  version: string;
  maxBatch: number;
  /** Also collect prom-client's default process/Node.js metrics (unprefixed, as dashboards expect). Default true. */
  defaultMetrics?: boolean;
}

export interface ReplicaMetrics {
  registry: Registry;
  /** Pass to the engine: batches, queue depth, per-frame pre-processing. */
  hooks: EngineHooks;
  /** Gauges (ready, in-flight, queue, footprint, GPU memory) read these stats at scrape time. */
  bindStats(read: () => ReplicaStats): void;
  /** The HTTP layer's count of requests being handled (they include frames still being decoded). */
  bindHttpInFlight(read: () => number): void;
  /** One finished HTTP request. */
  observeRequest(info: { endpoint: string; status: number; seconds: number }): void;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const FAST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** Batch-size buckets up to (and including) maxBatch: 1, 2, 3, 4, 6, 8, 12, 16, ... */
export function batchSizeBuckets(maxBatch: number): number[] {
  const steps = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256];
  const below = steps.filter((s) => s < maxBatch);
  return [...below, maxBatch];
}

/** A stable device label: `cpu`, `cuda:<index>` or `virtual:<node>:<index>`. */
export function deviceLabel(device: ReplicaStats['device']): string {
  if (device.kind === 'cpu') return 'cpu';
  if (device.kind === 'cuda') return `cuda:${device.index ?? 0}`;
  return `virtual:${device.node}:${device.index ?? 0}`;
}

export function createReplicaMetrics({
  model,
  version,
  maxBatch,
  defaultMetrics = true,
}: ReplicaMetricsOptions): ReplicaMetrics {
  const registry = new Registry();
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  let readStats: (() => ReplicaStats) | undefined;
  let readHttpInFlight: () => number = () => 0;
  /** One stats read per scrape, shared by every gauge's collect(). */
  let cached: { at: number; stats: ReplicaStats } | undefined;
  const stats = (): ReplicaStats | undefined => {
    if (!readStats) return undefined;
    const now = Date.now();
    if (!cached || now - cached.at > 50) cached = { at: now, stats: readStats() };
    return cached.stats;
  };

  const requests = new Counter({
    name: 'gpumux_requests_total',
    help: 'HTTP requests answered by the replica, by endpoint and HTTP status code.',
    labelNames: ['model', 'endpoint', 'code'] as const,
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: 'gpumux_request_duration_seconds',
    help: 'Time from request arrival to response, seconds, by endpoint.',
    labelNames: ['model', 'endpoint'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const inferenceDuration = new Histogram({
    name: 'gpumux_inference_duration_seconds',
    help: 'Time one batch spent in the ONNX Runtime session, seconds, by input shape bucket.',
    labelNames: ['model', 'bucket'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'gpumux_batch_size',
    help: 'Frames per batch run by the model.',
    labelNames: ['model'] as const,
    buckets: batchSizeBuckets(maxBatch),
    registers: [registry],
  });
  const preprocessDuration = new Histogram({
    name: 'gpumux_preprocess_duration_seconds',
    help: 'Time from one encoded image to its model input row: decode, orientation, resize, pad, normalise (includes gpumux_decode_duration_seconds), seconds.',
    labelNames: ['model'] as const,
    buckets: FAST_BUCKETS,
    registers: [registry],
  });
  const decodeDuration = new Histogram({
    name: 'gpumux_decode_duration_seconds',
    help: 'Time to decode one image, apply its EXIF orientation and resize it (one libvips pipeline), seconds.',
    labelNames: ['model'] as const,
    buckets: FAST_BUCKETS,
    registers: [registry],
  });

  const queueDepth = new Gauge({
    name: 'gpumux_queue_depth',
    help: 'Frames waiting for the model (not yet in a running batch).',
    labelNames: ['model'] as const,
    registers: [registry],
    collect() {
      const s = stats();
      if (s) this.set({ model }, s.queueLength);
    },
  });
  queueDepth.set({ model }, 0);
  new Gauge({
    name: 'gpumux_in_flight',
    help: "Frames queued or running in a batch: the replica's outstanding work.",
    labelNames: ['model'] as const,
    registers: [registry],
    collect() {
      this.set({ model }, stats()?.inFlight ?? 0);
    },
  });
  new Gauge({
    name: 'gpumux_http_requests_in_flight',
    help: 'HTTP requests being handled (reading, decoding, queued or running), this scrape included.',
    labelNames: ['model'] as const,
    registers: [registry],
    collect() {
      this.set({ model }, readHttpInFlight());
    },
  });
  new Gauge({
    name: 'gpumux_replica_ready',
    help: 'Whether the replica is ready for traffic (1) or not (0: loading, warming, draining, failed).',
    labelNames: ['model', 'version'] as const,
    registers: [registry],
    collect() {
      this.set({ model, version }, stats()?.ready ? 1 : 0);
    },
  });
  new Gauge({
    name: 'gpumux_replica_warmup_steps',
    help: 'Warm-up steps (one zero batch of bucket x batch each) finished (state="done") of all (state="total").',
    labelNames: ['model', 'state'] as const,
    registers: [registry],
    collect() {
      const w = stats()?.warmup;
      if (!w) return;
      this.set({ model, state: 'done' }, w.done);
      this.set({ model, state: 'total' }, w.total);
    },
  });
  new Gauge({
    name: 'gpumux_replica_footprint_bytes',
    help: 'Device memory this replica holds for life after warm-up, bytes (virtual="true": configured, not measured).',
    labelNames: ['model', 'device', 'virtual', 'method'] as const,
    registers: [registry],
    collect() {
      const s = stats();
      if (!s) return;
      this.reset();
      this.set(
        {
          model,
          device: deviceLabel(s.device),
          virtual: String(s.device.virtual),
          method: s.footprint.method,
        },
        s.footprint.bytes,
      );
    },
  });
  new Gauge({
    name: 'gpumux_device_memory_total_bytes',
    help: 'Memory capacity of the GPU this replica runs on, bytes (virtual="true": configured).',
    labelNames: ['device', 'virtual'] as const,
    registers: [registry],
    collect() {
      const s = stats();
      this.reset();
      if (s && s.device.memoryTotalBytes !== null) {
        this.set(
          { device: deviceLabel(s.device), virtual: String(s.device.virtual) },
          s.device.memoryTotalBytes,
        );
      }
    },
  });
  new Gauge({
    name: 'gpumux_device_memory_used_bytes',
    help: 'Memory in use on the GPU this replica runs on, bytes, as the replica sees it.',
    labelNames: ['device', 'virtual'] as const,
    registers: [registry],
    collect() {
      const s = stats();
      this.reset();
      if (s && s.device.memoryUsedBytes !== null) {
        this.set(
          { device: deviceLabel(s.device), virtual: String(s.device.virtual) },
          s.device.memoryUsedBytes,
        );
      }
    },
  });

  return {
    registry,
    bindHttpInFlight(read) {
      readHttpInFlight = read;
    },
    bindStats(read) {
      readStats = read;
      cached = undefined;
    },
    observeRequest({ endpoint, status, seconds }) {
      requests.inc({ model, endpoint, code: String(status) });
      requestDuration.observe({ model, endpoint }, seconds);
    },
    hooks: {
      onBatch({ size, bucket, inferenceSeconds }) {
        batchSize.observe({ model }, size);
        inferenceDuration.observe({ model, bucket }, inferenceSeconds);
      },
      onQueueDepth(depth) {
        queueDepth.set({ model }, depth);
      },
      onFrame({ preprocessSeconds, decodeSeconds }) {
        preprocessDuration.observe({ model }, preprocessSeconds);
        decodeDuration.observe({ model }, decodeSeconds);
      },
    },
  };
}
