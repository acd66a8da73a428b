import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Inventory } from '../inventory/inventory.js';
import { gpuRecordUtilization } from '../inventory/gpu-utilization.js';
import { gpuInFlight, type GpuRecord } from '../inventory/gpus.js';

export interface GatewayMetrics {
  registry: Registry;
  observeRequest(model: string, code: number, seconds: number): void;
  retry: (model: string, reason: string) => void;
  /** A try went past its per-try timeout. */
  perTryTimeout: (model: string) => void;
  /** A retry was wanted and the model's retry budget was spent. */
  retryBudgetExhausted: (model: string) => void;
  /** A replica of `model` was ejected (by model: replica names churn with pods, series must not). */
  ejection(model: string): void;
}

export interface MetricsOptions {
  inventory: Inventory;
  queueDepths: () => Map<string, number>;
  /** prom-client's Node.js process metrics (their own lint warnings are exempt). Default true. */
  defaultMetrics?: boolean;
  /**
   * Cluster memory totals as the operator view counts them (including GPUs no replica runs on, from the
   * scheduler's plan). Without it, the utilisation counts only the GPUs replicas report.
   */
  clusterTotals?: () => Promise<{ memoryTotalBytes: number; memoryUsedBytes: number }>;
}

/** The gateway's own registry: per-GPU memory and load (computed at scrape time), request outcomes. */
export function createGatewayMetrics({
  inventory,
  queueDepths,
  defaultMetrics = true,
  clusterTotals,
}: MetricsOptions): GatewayMetrics {
  const registry = new Registry();
  // Unprefixed, so prom-client's own families (exempt from our lint) never pass for gpumux's.
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  registerGpuGauges(registry, inventory);
  registerClusterGauges(registry, inventory, queueDepths, clusterTotals);
  const duration = new Histogram({
    name: 'gpumux_gateway_request_duration_seconds',
    help: 'Client request duration through the gateway, by model and HTTP status.',
    labelNames: ['model', 'code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const retries = new Counter({
    name: 'gpumux_gateway_retries_total',
    help: 'Requests re-sent to another replica.',
    labelNames: ['model', 'reason'],
    registers: [registry],
  });
  const perTryTimeouts = new Counter({
    name: 'gpumux_gateway_per_try_timeouts_total',
    help: 'Tries that went past their per-try timeout (retried when another replica and the retry budget allowed).',
    labelNames: ['model'],
    registers: [registry],
  });
  const budgetExhausted = new Counter({
    name: 'gpumux_gateway_retry_budget_exhausted_total',
    help: "Retries not made because the model's retry budget was spent.",
    labelNames: ['model'],
    registers: [registry],
  });
  const ejections = new Counter({
    name: 'gpumux_gateway_ejections_total',
    help: 'Replica ejections after consecutive failures, by model.',
    labelNames: ['model'],
    registers: [registry],
  });
  // Label lookups cost a hash per call; children are cached per (model, code).
  const children = new Map<string, ReturnType<typeof duration.labels>>();
  return {
    registry,
    observeRequest(model, code, seconds) {
      const key = model + '\u0000' + code;
      let child = children.get(key);
      if (!child) children.set(key, (child = duration.labels(model, String(code))));
      child.observe(seconds);
    },
    retry: (model, reason) => retries.inc({ model, reason }),
    perTryTimeout: (model) => perTryTimeouts.inc({ model }),
    retryBudgetExhausted: (model) => budgetExhausted.inc({ model }),
    ejection: (model) => ejections.inc({ model }),
  };
}

const GPU_LABELS = ['gpu', 'node', 'index', 'virtual'] as const;

const gpuLabelsOf = (g: GpuRecord) => ({
  gpu: g.key,
  node: g.node,
  index: g.index === null ? '' : String(g.index),
  virtual: g.kind === 'virtual' ? 'true' : 'false',
});

/** One gauge per GPU (not the CPU pseudo-GPU), its value read from the inventory at scrape time. */
function gpuGauge(
  registry: Registry,
  inventory: Inventory,
  name: string,
  help: string,
  value: (g: GpuRecord) => number,
) {
  return new Gauge({
    name,
    help,
    labelNames: GPU_LABELS,
    registers: [registry],
    collect() {
      this.reset();
      for (const g of inventory.gpus().values()) if (g.kind !== 'cpu') this.set(gpuLabelsOf(g), value(g));
    },
  });
}

/** Per-GPU memory, replicas, utilisation and load. */
function registerGpuGauges(registry: Registry, inventory: Inventory): void {
  const gauge = (name: string, help: string, value: (g: GpuRecord) => number) =>
    gpuGauge(registry, inventory, name, help, value);
  gauge('gpumux_gpu_memory_total_bytes', 'GPU memory capacity.', (g) => g.capacityBytes);
  gauge(
    'gpumux_gpu_memory_used_bytes',
    'GPU memory in use (see docs/gateway.md for the virtual-GPU rule).',
    (g) => g.usedBytes,
  );
  gauge(
    'gpumux_gpu_memory_headroom_bytes',
    'GPU memory free beyond the reserve: total - used - reserve.',
    (g) => g.headroomBytes,
  );
  gauge('gpumux_gpu_replicas', 'Replicas on the GPU.', (g) => g.replicas.length);
  gauge(
    'gpumux_gpu_utilization_ratio',
    "GPU compute utilisation, 0..1: nvidia-smi's on cuda, the replicas' summed busy shares on virtual GPUs.",
    (g) => gpuRecordUtilization(g)?.ratio ?? 0,
  );
  gauge('gpumux_gpu_in_flight_requests', 'Outstanding requests on the GPU replicas.', gpuInFlight);
}

/** Cluster memory utilisation, queue depth per model, replicas by state. */
function registerClusterGauges(
  registry: Registry,
  inventory: Inventory,
  queueDepths: MetricsOptions['queueDepths'],
  clusterTotals: MetricsOptions['clusterTotals'],
): void {
  new Gauge({
    name: 'gpumux_cluster_memory_utilization_ratio',
    help: 'Used over total GPU memory across the cluster (every GPU the gateway or the scheduler knows), 0..1.',
    registers: [registry],
    async collect() {
      if (clusterTotals) {
        const t = await clusterTotals();
        this.set(t.memoryTotalBytes > 0 ? t.memoryUsedBytes / t.memoryTotalBytes : 0);
        return;
      }
      let total = 0;
      let used = 0;
      for (const g of inventory.gpus().values()) {
        if (g.kind === 'cpu') continue;
        total += g.capacityBytes;
        used += Math.min(g.usedBytes, g.capacityBytes);
      }
      this.set(total > 0 ? used / total : 0);
    },
  });
  new Gauge({
    name: 'gpumux_gateway_queue_depth',
    help: 'Requests waiting for a replica, per model.',
    labelNames: ['model'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [model, depth] of queueDepths()) this.set({ model }, depth);
    },
  });
  new Gauge({
    name: 'gpumux_gateway_replicas',
    help: 'Replicas known to the gateway by state.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const r of inventory.records()) {
        const state = r.measurement.reachable ? (r.measurement.stats?.state ?? 'unknown') : 'unreachable';
        counts.set(state, (counts.get(state) ?? 0) + 1);
      }
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
}
