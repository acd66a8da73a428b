import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The scheduler's Prometheus metrics, in their own registry. */
export function createSchedulerMetrics() {
  const registry = new Registry();
  const m = {
    registry,
    gpus: new Gauge({ name: 'gpumux_scheduler_gpus', help: 'GPUs in the inventory', registers: [registry] }),
    memoryUtilization: new Gauge({
      name: 'gpumux_scheduler_planned_memory_utilization_ratio',
      help: 'Cluster memory utilisation once the current plan is applied (0..1)',
      registers: [registry],
    }),
    desiredReplicas: new Gauge({
      name: 'gpumux_scheduler_desired_replicas',
      help: 'Replicas wanted per model',
      labelNames: ['model'],
      registers: [registry],
    }),
    replicas: new Gauge({
      name: 'gpumux_scheduler_replicas',
      help: 'Replicas by model and phase',
      labelNames: ['model', 'phase'],
      registers: [registry],
    }),
    footprintBytes: new Gauge({
      name: 'gpumux_scheduler_footprint_bytes',
      help: 'Footprint counted per replica',
      labelNames: ['model', 'product', 'source'],
      registers: [registry],
    }),
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
    leader: new Gauge({
      name: 'gpumux_scheduler_leader',
      help: '1 when this instance leads (acts)',
      registers: [registry],
    }),
    unplaced: new Gauge({
      name: 'gpumux_scheduler_unplaced_replicas',
      help: 'Wanted replicas that fit nowhere',
      labelNames: ['model'],
      registers: [registry],
    }),
    reconcileSeconds: new Histogram({
      name: 'gpumux_scheduler_reconcile_duration_seconds',
      help: 'Time of one reconcile pass',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
  };
  return m;
}

export type SchedulerMetrics = ReturnType<typeof createSchedulerMetrics>;
