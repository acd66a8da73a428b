import { Counter, Histogram, type Registry } from 'prom-client';
import type { EngineHooks } from '../engine/types.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const FAST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** Batch-size buckets up to (and including) maxBatch: 1, 2, 3, 4, 6, 8, 12, 16, ... */
export function batchSizeBuckets(maxBatch: number): number[] {
  const steps = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256];
  const below = steps.filter((s) => s < maxBatch);
  return [...below, maxBatch];
}

/**
 * The counters and histograms fed as things happen: HTTP requests (`observeRequest`, from the HTTP layer) and
 * the engine's batches and frames (`hooks`). Queue depth is a gauge (stats-gauges.ts), not here.
 */
export function createEventMetrics(registry: Registry, model: string, maxBatch: number) {
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

  const hooks: Pick<EngineHooks, 'onBatch' | 'onFrame'> = {
    onBatch({ size, bucket, inferenceSeconds }) {
      batchSize.observe({ model }, size);
      inferenceDuration.observe({ model, bucket }, inferenceSeconds);
    },
    onFrame({ preprocessSeconds, decodeSeconds }) {
      preprocessDuration.observe({ model }, preprocessSeconds);
      decodeDuration.observe({ model }, decodeSeconds);
    },
  };
  return {
    observeRequest: ({
      endpoint,
      status,
      seconds,
    }: {
      endpoint: string;
      status: number;
      seconds: number;
    }) => {
      requests.inc({ model, endpoint, code: String(status) });
      requestDuration.observe({ model, endpoint }, seconds);
    },
    hooks,
  };
}
