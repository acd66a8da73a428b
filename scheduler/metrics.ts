import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Observation } from './observation.js';
import type { BatchChoices, ModelSet } from './model-set.js';
import type { ManagedReplica } from './orchestrators/types.js';
import type { PlacementResult } from './placement/plan.js';
import type { ProfileStore } from './profiles/store.js';
import type { Gpu } from './types.js';

/** What the last pass saw and decided: the gauges read it at scrape time (prom-client `collect()`). */
export interface SchedulerSnapshot {
  gpus: number;
  memoryUtilization: number;
  leader: boolean;
  models: {
    name: string;
    desired: number;
    unplaced: number;
    /** Per GPU product: counted footprint and where it comes from. */
    footprints: { product: string; source: string; bytes: number }[];
    phases: Record<'pending' | 'starting' | 'ready' | 'draining' | 'failed', number>;
  }[];
  /** Measured (or busy-share) compute utilisation per GPU id, for GPUs with a reporting replica. */
  gpuUtilization: { gpu: string; ratio: number; source: string }[];
}

const PHASES = ['pending', 'starting', 'ready', 'draining', 'failed'] as const;

/** One pass as the gauges report it: per model its wanted count, what did not fit, footprints and phases. */
export function snapshotOf(pass: {
  gpus: Gpu[];
  result: PlacementResult;
  replicas: ManagedReplica[];
  observed: Observation;
  leader: boolean;
  set: ModelSet;
  batches: BatchChoices;
  desired: ReadonlyMap<string, number>;
  profiles: ProfileStore;
}): SchedulerSnapshot {
  const { gpus, result, replicas, set, profiles } = pass;
  const products = [...new Set(gpus.map((g) => g.product))];
  return {
    gpus: gpus.length,
    memoryUtilization: result.memoryUtilization,
    leader: pass.leader,
    models: set.models.map((m) => {
      const label = set.labelOf(m);
      return {
        name: label,
        desired: pass.desired.get(label)!,
        unplaced: result.unplaced.find((u) => u.model === label)?.count ?? 0,
        footprints: products.map((product) => ({
          product,
          source: profiles.source(label, product),
          bytes: profiles.footprint(label, product, set.declaredBytes(m, pass.batches)),
        })),
        phases: Object.fromEntries(
          PHASES.map((phase) => [
            phase,
            replicas.filter((r) => set.labelOf(r) === label && r.phase === phase).length,
          ]),
        ) as SchedulerSnapshot['models'][number]['phases'],
      };
    }),
    gpuUtilization: pass.observed.utilizationSources,
  };
}

/**
 * The scheduler's Prometheus metrics, in their own registry. Gauges are computed when scraped from the
 * snapshot `bind()` points at (the last pass); counters and the pass histogram are updated as things happen.
 */
export function createSchedulerMetrics() {
  const registry = new Registry();
  let read: () => SchedulerSnapshot | null = () => null;
  registerSnapshotGauges(registry, () => read());
  return {
    registry,
    /** Points the gauges at the latest snapshot. */
    bind(snapshot: () => SchedulerSnapshot | null): void {
      read = snapshot;
    },
    actions: new Counter({
      name: 'gpumux_scheduler_actions_total',
      help: 'Actions taken',
      labelNames: ['type', 'model'],
      registers: [registry],
    }),
    failures: new Counter({
      name: 'gpumux_scheduler_replica_failures_total',
      help: 'Replica deaths seen',
      labelNames: ['model', 'kind'],
      registers: [registry],
    }),
    hostOomKills: new Counter({
      name: 'gpumux_scheduler_replica_host_oom_kills_total',
      help: 'Replicas killed by the kernel OOM killer (exit 137, OOMKilled): host memory over the container limit named by `setting`, not the GPU footprint',
      labelNames: ['model', 'setting'],
      registers: [registry],
    }),
    reconcileSeconds: new Histogram({
      name: 'gpumux_scheduler_reconcile_duration_seconds',
      help: 'Time of one reconcile pass',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
  };
}

/** The gauges, each filled from the snapshot when scraped (reset first, so a gone model's series go too). */
function registerSnapshotGauges(registry: Registry, snapshot: () => SchedulerSnapshot | null): void {
  const gauge = (
    name: string,
    help: string,
    labelNames: string[],
    fill: (g: Gauge, s: SchedulerSnapshot) => void,
  ): Gauge =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        const s = snapshot();
        this.reset();
        if (s) fill(this, s);
      },
    });
  gauge('gpumux_scheduler_gpus', 'GPUs in the inventory', [], (g, s) => g.set(s.gpus));
  gauge(
    'gpumux_scheduler_planned_memory_utilization_ratio',
    'Cluster memory utilisation once the current plan is applied (0..1)',
    [],
    (g, s) => g.set(s.memoryUtilization),
  );
  gauge('gpumux_scheduler_desired_replicas', 'Replicas wanted per model', ['model'], (g, s) => {
    for (const m of s.models) g.set({ model: m.name }, m.desired);
  });
  gauge('gpumux_scheduler_replicas', 'Replicas by model and phase', ['model', 'phase'], (g, s) => {
    for (const m of s.models)
      for (const [phase, n] of Object.entries(m.phases)) g.set({ model: m.name, phase }, n);
  });
  gauge(
    'gpumux_scheduler_footprint_bytes',
    'Footprint counted per replica',
    ['model', 'product', 'source'],
    (g, s) => {
      for (const m of s.models)
        for (const f of m.footprints) g.set({ model: m.name, product: f.product, source: f.source }, f.bytes);
    },
  );
  gauge('gpumux_scheduler_unplaced_replicas', 'Wanted replicas that fit nowhere', ['model'], (g, s) => {
    for (const m of s.models) g.set({ model: m.name }, m.unplaced);
  });
  gauge(
    'gpumux_scheduler_gpu_utilization_ratio',
    'GPU compute utilisation the placement used (nvidia-smi, or Σ busy shares on virtual GPUs), 0..1',
    ['gpu', 'source'],
    (g, s) => {
      for (const u of s.gpuUtilization) g.set({ gpu: u.gpu, source: u.source }, u.ratio);
    },
  );
  gauge('gpumux_scheduler_leader', '1 when this instance leads (acts)', [], (g, s) =>
    g.set(s.leader ? 1 : 0),
  );
}

export type SchedulerMetrics = ReturnType<typeof createSchedulerMetrics>;
