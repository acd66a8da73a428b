import { Gauge, type Registry } from 'prom-client';
import type { ReplicaStats } from '../contract.js';

/** A stable device label: `cpu`, `cuda:<index>` or `virtual:<node>:<index>`. */
export function deviceLabel(device: ReplicaStats['device']): string {
  if (device.kind === 'cpu') return 'cpu';
  if (device.kind === 'cuda') return `cuda:${device.index ?? 0}`;
  return `virtual:${device.node}:${device.index ?? 0}`;
}

/** Where the gauges read at scrape time: the engine's stats (undefined until bound) and the HTTP in-flight count. */
export interface GaugeSources {
  stats: () => ReplicaStats | undefined;
  httpInFlight: () => number;
}

/**
 * One stats read per scrape, shared by every gauge's collect(): reads within 50 ms of the last one reuse it.
 * `reset()` forgets it (a newly bound reader).
 */
export function scrapeCache(read: () => (() => ReplicaStats) | undefined) {
  let cached: { at: number; stats: ReplicaStats } | undefined;
  return {
    stats: (): ReplicaStats | undefined => {
      const readStats = read();
      if (!readStats) return undefined;
      const now = Date.now();
      if (!cached || now - cached.at > 50) cached = { at: now, stats: readStats() };
      return cached.stats;
    },
    reset: () => {
      cached = undefined;
    },
  };
}

/**
 * The gauges that read the engine's live stats at scrape time, so they are never stale: the replica's work and
 * lifecycle, then its device. Returns the queue-depth gauge's setter (the engine also reports it per batch).
 */
export function registerStatsGauges(
  registry: Registry,
  labels: { model: string; version: string },
  from: GaugeSources,
): { setQueueDepth: (depth: number) => void } {
  const queueDepth = registerWorkGauges(registry, labels, from);
  registerDeviceGauges(registry, labels.model, from.stats);
  return { setQueueDepth: (depth) => queueDepth.set({ model: labels.model }, depth) };
}

/** Queue, in-flight frames and HTTP requests, readiness, warm-up progress. */
function registerWorkGauges(
  registry: Registry,
  { model, version }: { model: string; version: string },
  { stats, httpInFlight }: GaugeSources,
): Gauge<'model'> {
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
      this.set({ model }, httpInFlight());
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
  return queueDepth;
}

/** The replica's footprint and its GPU's memory, labelled by device (`virtual="true"`: configured, not measured). */
function registerDeviceGauges(
  registry: Registry,
  model: string,
  stats: () => ReplicaStats | undefined,
): void {
  new Gauge({
    name: 'gpumux_replica_footprint_bytes',
    help: 'Device memory this replica holds for life after warm-up, bytes (virtual="true": configured, not measured).',
    labelNames: ['model', 'device', 'virtual', 'method'] as const,
    registers: [registry],
    collect() {
      const s = stats();
      if (!s) return;
      this.reset();
      const device = deviceLabel(s.device);
      this.set(
        { model, device, virtual: String(s.device.virtual), method: s.footprint.method },
        s.footprint.bytes,
      );
    },
  });
  const memoryGauge = (name: string, help: string, field: 'memoryTotalBytes' | 'memoryUsedBytes') =>
    new Gauge({
      name,
      help,
      labelNames: ['device', 'virtual'] as const,
      registers: [registry],
      collect() {
        const s = stats();
        this.reset();
        const bytes = s?.device[field];
        if (s && bytes !== null && bytes !== undefined)
          this.set({ device: deviceLabel(s.device), virtual: String(s.device.virtual) }, bytes);
      },
    });
  memoryGauge(
    'gpumux_device_memory_total_bytes',
    'Memory capacity of the GPU this replica runs on, bytes (virtual="true": configured).',
    'memoryTotalBytes',
  );
  memoryGauge(
    'gpumux_device_memory_used_bytes',
    'Memory in use on the GPU this replica runs on, bytes, as the replica sees it.',
    'memoryUsedBytes',
  );
}
