import { Registry, collectDefaultMetrics } from 'prom-client';
import type { EngineHooks } from '../engine/types.js';
import type { ReplicaStats } from '../contract.js';
import { createEventMetrics } from './event-metrics.js';
import { registerStatsGauges, scrapeCache } from './stats-gauges.js';

/**
 * The replica's Prometheus metrics, in a registry of its own (never prom-client's global one, so that tests
 * and in-process stacks can hold several replicas). Names carry units; every metric has help text.
 *
 * Counters and histograms are fed by the HTTP layer (`observeRequest`) and by the engine through `hooks`
 * (event-metrics.ts); gauges read the engine's live stats at scrape time, so they are never stale
 * (stats-gauges.ts).
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
  const scrape = scrapeCache(() => readStats);
  const events = createEventMetrics(registry, model, maxBatch);
  const gauges = registerStatsGauges(
    registry,
    { model, version },
    { stats: scrape.stats, httpInFlight: () => readHttpInFlight() },
  );
  return {
    registry,
    bindHttpInFlight(read) {
      readHttpInFlight = read;
    },
    bindStats(read) {
      readStats = read;
      scrape.reset();
    },
    observeRequest: events.observeRequest,
    hooks: { ...events.hooks, onQueueDepth: gauges.setQueueDepth },
  };
}
