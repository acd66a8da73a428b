import type { Inventory } from '../inventory/inventory.js';
import { gpuRecordUtilization } from '../inventory/gpu-utilization.js';
import { busyReplicas, gpuInFlight, type GpuRecord } from '../inventory/gpus.js';
import { isEjected } from '../inventory/outlier-state.js';
import { modelKeyOf, outstanding, servable, type ReplicaRecord } from '../inventory/records.js';
import type { ClusterView, GpuView, ModelView, PlanGpu, PlanView, ReplicaView } from './cluster-view.js';
import type { RequestWindow } from './request-window.js';
import type { RoutingFailure } from '../routing/router.js';

function replicaView(r: ReplicaRecord): ReplicaView {
  const s = r.measurement.stats;
  return {
    id: r.endpoint.id,
    url: r.endpoint.url,
    model: s?.model ?? '',
    version: s?.version ?? '',
    state: r.measurement.reachable && s ? s.state : 'unreachable',
    footprintBytes: s?.footprint.bytes ?? 0,
    inFlight: outstanding(r),
    queueLength: s?.queueLength ?? 0,
    ewmaServiceSeconds: s?.ewmaServiceSeconds ?? 0,
    ejected: isEjected(r),
    consecutiveFailures: r.outlier.consecutiveFailures,
  };
}

function gpuView(g: GpuRecord): GpuView {
  const compute = gpuRecordUtilization(g);
  return {
    id: g.key,
    node: g.node,
    index: g.index,
    name: g.name,
    virtual: g.kind === 'virtual',
    memoryTotalBytes: g.capacityBytes,
    memoryUsedBytes: g.usedBytes,
    memoryReservedBytes: g.reserveBytes,
    memoryHeadroomBytes: g.headroomBytes,
    memoryUtilization: g.capacityBytes > 0 ? Math.min(1, g.usedBytes / g.capacityBytes) : 0,
    computeUtilization: compute?.ratio ?? null,
    computeSource: compute?.source ?? null,
    critical: g.critical,
    inFlight: gpuInFlight(g),
    busyReplicas: busyReplicas(g),
    replicas: g.replicas.map(replicaView),
  };
}

/** A GPU the scheduler knows of but no replica reports: all of it is headroom. */
function emptyGpuView(g: PlanGpu): GpuView {
  return {
    id: g.virtual ? `virtual-${g.node}-${g.index}` : `${g.node}/${g.index}`,
    node: g.node,
    index: g.index,
    name: g.name,
    virtual: g.virtual,
    memoryTotalBytes: g.memoryTotalBytes,
    memoryUsedBytes: 0,
    memoryReservedBytes: g.memoryReservedBytes,
    memoryHeadroomBytes: Math.max(0, g.memoryTotalBytes - g.memoryReservedBytes),
    memoryUtilization: 0,
    computeUtilization: 0,
    computeSource: null,
    critical: false,
    inFlight: 0,
    busyReplicas: 0,
    replicas: [],
  };
}

/** Replica counts of one model version. */
interface ModelCount {
  version: string;
  replicas: number;
  ready: number;
}

/** The configured version split (`versions.split`): model → version → weight. */
type Split = Readonly<Record<string, Readonly<Record<string, number>>>>;

/**
 * The operator's picture: GPUs (sorted by node, then index) with their replicas; replicas that never
 * answered /v1/stats under `unplaced`; per-model traffic over the sliding window; the scheduler's plan, whose
 * GPU inventory adds the GPUs no replica runs on.
 */
export function buildClusterView(
  inventory: Inventory,
  window: RequestWindow,
  plan: PlanView | null,
  now = new Date(),
  queueDepths: ReadonlyMap<string, number> = new Map(),
  routingFailures: ReadonlyMap<string, RoutingFailure> = new Map(),
  /** The configured version split (`versions.split`): model → version → weight. */
  split: Split = {},
): ClusterView {
  const gpus = gpuViews(inventory, plan);
  const { unplaced, models, replicas, ready } = countReplicas(inventory);
  // A version the split sends traffic to shows even before (or after) any replica serves it.
  for (const [name, weights] of Object.entries(split))
    for (const version of Object.keys(weights)) {
      const key = modelKeyOf(name, version);
      if (!models.has(key)) models.set(key, { version, replicas: 0, ready: 0 });
    }
  const modelViews = [...models]
    .map(([key, m]) => modelView(key, m, window, queueDepths, routingFailures, split))
    .sort((a, b) => (a.name === b.name ? (a.version < b.version ? -1 : 1) : a.name < b.name ? -1 : 1));
  return {
    generatedAt: now.toISOString(),
    totals: totalsOf(gpus, replicas, ready),
    gpus,
    unplaced,
    models: modelViews,
    plan,
  };
}

/** The GPUs replicas report, plus the plan's GPUs none does; sorted by node, then index. */
function gpuViews(inventory: Inventory, plan: PlanView | null): GpuView[] {
  const seen = [...inventory.gpus().values()].map(gpuView);
  const known = new Set(seen.map((g) => `${g.node}/${g.index}`));
  const empty = (plan?.gpus ?? []).filter((g) => !known.has(`${g.node}/${g.index}`)).map(emptyGpuView);
  return [...seen, ...empty].sort((a, b) =>
    a.node === b.node ? (a.index ?? -1) - (b.index ?? -1) : a.node < b.node ? -1 : 1,
  );
}

/** Replicas by model version (`modelKeyOf`), those without stats (unplaced), and the ready count. */
function countReplicas(inventory: Inventory): {
  unplaced: ClusterView['unplaced'];
  models: Map<string, ModelCount>;
  replicas: number;
  ready: number;
} {
  const unplaced: ClusterView['unplaced'] = [];
  const models = new Map<string, ModelCount>();
  let replicas = 0;
  let ready = 0;
  for (const r of inventory.records()) {
    replicas++;
    const s = r.measurement.stats;
    if (!s) {
      unplaced.push({
        id: r.endpoint.id,
        url: r.endpoint.url,
        state: r.measurement.lastError ? 'unreachable' : 'unknown',
        lastError: r.measurement.lastError,
      });
      continue;
    }
    const isReady = servable(r);
    if (isReady) ready++;
    const key = modelKeyOf(s.model, s.version);
    const m = models.get(key) ?? { version: s.version, replicas: 0, ready: 0 };
    m.replicas++;
    if (isReady) m.ready++;
    models.set(key, m);
  }
  return { unplaced, models, replicas, ready };
}

/** The version's share of its model's split, when the model has one. */
function splitOf(split: Split, name: string, version: string): Pick<ModelView, 'splitWeight' | 'splitShare'> {
  const weights = split[name];
  if (!weights) return {};
  const total = Object.values(weights).reduce((sum, w) => sum + w, 0);
  const weight = weights[version] ?? 0;
  return { splitWeight: weight, splitShare: total > 0 ? weight / total : 0 };
}

function modelView(
  key: string,
  m: ModelCount,
  window: RequestWindow,
  queueDepths: ReadonlyMap<string, number>,
  routingFailures: ReadonlyMap<string, RoutingFailure>,
  split: Split,
): ModelView {
  const name = key.slice(0, key.length - m.version.length - 1);
  const failure = routingFailures.get(name);
  return {
    name,
    version: m.version,
    replicas: m.replicas,
    readyReplicas: m.ready,
    ...window.stats(name),
    queued: queueDepths.get(name) ?? 0,
    ...splitOf(split, name, m.version),
    ...(failure && {
      lastRoutingFailure: {
        filter: failure.filter,
        code: failure.code,
        at: new Date(failure.at).toISOString(),
      },
    }),
  };
}

/** The cluster's totals: memory and compute over `gpus` (a GPU without memory counts in neither). */
function totalsOf(gpus: readonly GpuView[], replicas: number, ready: number): ClusterView['totals'] {
  let total = 0;
  let used = 0;
  let headroom = 0;
  let compute = 0;
  let computed = 0;
  for (const g of gpus) {
    total += g.memoryTotalBytes;
    used += Math.min(g.memoryUsedBytes, g.memoryTotalBytes);
    headroom += g.memoryHeadroomBytes;
    if (g.computeUtilization !== null && g.memoryTotalBytes > 0) {
      compute += g.computeUtilization;
      computed++;
    }
  }
  return {
    gpus: gpus.filter((g) => g.memoryTotalBytes > 0).length,
    replicas,
    readyReplicas: ready,
    memoryTotalBytes: total,
    memoryUsedBytes: used,
    memoryHeadroomBytes: headroom,
    memoryUtilization: total > 0 ? used / total : 0,
    computeUtilization: computed > 0 ? compute / computed : null,
  };
}
